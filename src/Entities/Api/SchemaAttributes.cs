using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace NetDiag.Entities.Api;

// Attributes that carry what the OpenAPI schema of the CRD must say and C# types cannot
// (tools/CrdGen reads them). Plain data, no behaviour: the validator enforces the same rules in
// NetDiag.Entities.Validation for what a schema cannot express.

/// <summary>
/// The allowed values of a string property (or of the items of a list of strings), taken from a
/// static <c>IReadOnlyList&lt;string&gt;</c> member so the catalog stays the one source of truth.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class EnumValuesAttribute(
    [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.PublicProperties)] Type source,
    string member) : Attribute
{
    [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.PublicProperties)]
    public Type Source { get; } = source;
    public string Member { get; } = member;

    /// <summary>Reads the values from <see cref="Source"/>.<see cref="Member"/> (a static field or property).</summary>
    public IReadOnlyList<string> Values
    {
        get
        {
            const BindingFlags flags = BindingFlags.Public | BindingFlags.Static;
            var value = Source.GetField(Member, flags)?.GetValue(null) ?? Source.GetProperty(Member, flags)?.GetValue(null);
            return value as IEnumerable<string> is { } values
                ? values.ToArray()
                : throw new InvalidOperationException($"{Source.Name}.{Member} is not a static list of strings");
        }
    }
}

/// <summary>An ECMA/RE2-compatible regular expression the string (or each list item) must match.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PatternAttribute(string pattern) : Attribute
{
    public string Pattern { get; } = pattern;
}
