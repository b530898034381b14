using NetDiag.Testing;

namespace NetDiag.Api.Tests;

[CollectionDefinition(ControlPlaneFixture.Collection)]
public sealed class ControlPlaneCollection : ICollectionFixture<ControlPlaneFixture>;
