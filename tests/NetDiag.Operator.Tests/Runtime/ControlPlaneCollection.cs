using NetDiag.Testing;

namespace NetDiag.Operator.Tests.Runtime;

/// <summary>
/// Every test of this assembly that uses the real control plane joins this collection: they share
/// one control plane and never run in parallel with other collections, because some of them restart
/// the API server.
/// </summary>
[CollectionDefinition(ControlPlaneFixture.Collection, DisableParallelization = true)]
public sealed class ControlPlaneCollection : ICollectionFixture<ControlPlaneFixture>;
