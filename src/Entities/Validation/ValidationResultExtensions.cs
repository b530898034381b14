using FluentValidation.Results;
using ValidationSeverity = FluentValidation.Severity;

namespace NetDiag.Entities.Validation;

/// <summary>
/// Turns a <see cref="ValidationResult"/> into what the operator writes: whether the spec is usable
/// (FluentValidation's own <c>IsValid</c> also fails on warnings, so it is not that) and one
/// human message for the <c>Ready=False/InvalidSpec</c> condition and its Warning Event.
/// </summary>
public static class ValidationResultExtensions
{
    /// <summary>Kept well below metav1.Condition's 32768 limit: it is read in <c>kubectl describe</c>.</summary>
    public const int MaxMessageLength = 1024;

    /// <summary>True when at least one failure has error severity.</summary>
    public static bool HasErrors(this ValidationResult result) =>
        result.Errors.Any(e => e.Severity == ValidationSeverity.Error);

    /// <summary>The error messages (each starting with its field path), in rule order.</summary>
    public static IReadOnlyList<string> ErrorMessages(this ValidationResult result) =>
        result.Errors.Where(e => e.Severity == ValidationSeverity.Error).Select(e => e.ErrorMessage).ToArray();

    /// <summary>The warning messages, for an Event or a log line; they never block a run.</summary>
    public static IReadOnlyList<string> WarningMessages(this ValidationResult result) =>
        result.Errors.Where(e => e.Severity == ValidationSeverity.Warning).Select(e => e.ErrorMessage).ToArray();

    /// <summary>
    /// One message for the condition: "spec.schedule: ..." for one error,
    /// "2 problems: spec.schedule: ...; spec.timeZone: ..." for more, cut at
    /// <see cref="MaxMessageLength"/>. Empty when there is no error.
    /// </summary>
    public static string ToConditionMessage(this ValidationResult result)
    {
        var errors = result.ErrorMessages();
        var message = errors.Count switch
        {
            0 => "",
            1 => errors[0],
            _ => $"{errors.Count} problems: {string.Join("; ", errors)}",
        };
        return message.Length <= MaxMessageLength ? message : message[..(MaxMessageLength - 3)] + "...";
    }
}
