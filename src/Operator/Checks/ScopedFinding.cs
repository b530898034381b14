using NetDiag.Entities.Reports;

namespace NetDiag.Operator.Checks;

/// <summary>A finding as one check saw it on one node (or about one object), before merging across nodes.</summary>
public sealed record ScopedFinding(Finding Finding, string? Node = null, string? Object = null)
{
    public string Check => Finding.Check;
    public string Cause => Finding.Cause;
}
