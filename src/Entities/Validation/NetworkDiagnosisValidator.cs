using System.Net;
using System.Net.Sockets;
using Cronos;
using FluentValidation;
using FluentValidation.Results;
using k8s.Models;
using NetDiag.Entities.Api;
using ValidationSeverity = FluentValidation.Severity;

namespace NetDiag.Entities.Validation;

/// <summary>
/// The operator's validation of a <see cref="V1alpha1NetworkDiagnosis"/>: everything the CRD schema
/// cannot say (cron syntax, time zones, duration bounds, cross-field rules) and, again, what it can
/// (so a spec read from a file or an older CRD is judged the same). Every failure's
/// <see cref="ValidationFailure.PropertyName"/> is the field path (<c>spec.checks[2]</c>) and its
/// message starts with that path, so a condition message names the field on its own.
/// Errors make a spec invalid; warnings (<see cref="ValidationSeverity.Warning"/>) are advice
/// that still lets the diagnosis run (see <see cref="ValidationResultExtensions"/>).
/// </summary>
public sealed class NetworkDiagnosisValidator : AbstractValidator<V1alpha1NetworkDiagnosis>
{
    /// <summary>Longest allowed <c>spec.timeout</c>: a diagnosis that needs more is stuck, not slow.</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromHours(1);

    public const int MinConcurrentProbes = 1;
    public const int MaxConcurrentProbes = 1000;
    public const int MaxHistoryLimit = 50;

    /// <summary>Operators of a label selector requirement (metav1.LabelSelectorOperator).</summary>
    public static readonly IReadOnlyList<string> SelectorOperators = ["In", "NotIn", "Exists", "DoesNotExist"];

    public NetworkDiagnosisValidator()
    {
        RuleFor(x => x.Spec).NotNull().WithMessage("spec: must be present").OverridePropertyName("spec");

        When(x => x.Spec is not null, () =>
        {
            RuleFor(x => x.Spec.Checks).Custom(ValidateChecks);
            RuleFor(x => x.Spec.NodeSelector).Custom(ValidateNodeSelector);
            RuleFor(x => x.Spec.Schedule).Custom(ValidateSchedule);
            RuleFor(x => x.Spec.TimeZone).Custom(ValidateTimeZone);
            RuleFor(x => x.Spec.Suspend).Custom(ValidateSuspend);
            RuleFor(x => x.Spec.Timeout).Custom(ValidateTimeout);
            RuleFor(x => x.Spec.MaxConcurrentProbes).Custom(ValidateMaxConcurrentProbes);
            RuleFor(x => x.Spec.HistoryLimit).Custom(ValidateHistoryLimit);
            RuleFor(x => x.Spec.Remediation).Custom(ValidateRemediation);
            RuleFor(x => x.Spec.DnsUpstreams).Custom(ValidateDnsUpstreams);
            RuleFor(x => x.Spec.ExternalDnsName).Custom(ValidateExternalDnsName);
        });
    }

    private static void ValidateChecks(List<string>? checks, ValidationContext<V1alpha1NetworkDiagnosis> ctx)
    {
        if (checks is null)
            return;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < checks.Count; i++)
        {
            var path = $"spec.checks[{i}]";
            var name = checks[i];
            if (!CheckNames.IsKnown(name))
                Error(ctx, path, $"unknown check \"{name}\"{Suggest(name, CheckNames.All)}; known checks: {string.Join(", ", CheckNames.All)}");
            else if (!seen.Add(name))
                Warning(ctx, path, $"check \"{name}\" is listed more than once");
        }
    }

    private static void ValidateNodeSelector(V1LabelSelector? selector, ValidationContext<V1alpha1NetworkDiagnosis> ctx)
    {
        if (selector is null)
            return;

        foreach (var (key, value) in selector.MatchLabels ?? new Dictionary<string, string>())
        {
            var path = $"spec.nodeSelector.matchLabels[{key}]";
            if (LabelSyntax.KeyProblem(key) is { } keyProblem)
                Error(ctx, path, $"key {keyProblem}");
            if (LabelSyntax.ValueProblem(value) is { } valueProblem)
                Error(ctx, path, $"value {valueProblem}");
        }

        var expressions = selector.MatchExpressions ?? [];
        for (var i = 0; i < expressions.Count; i++)
        {
            var path = $"spec.nodeSelector.matchExpressions[{i}]";
            var expression = expressions[i];
            if (expression is null)
            {
                Error(ctx, path, "must not be null");
                continue;
            }

            if (LabelSyntax.KeyProblem(expression.Key) is { } keyProblem)
                Error(ctx, path + ".key", keyProblem);

            var values = expression.Values ?? [];
            switch (expression.OperatorProperty)
            {
                case "In" or "NotIn":
                    if (values.Count == 0)
                        Error(ctx, path + ".values", $"must list at least one value when operator is {expression.OperatorProperty}");
                    break;
                case "Exists" or "DoesNotExist":
                    if (values.Count > 0)
                        Error(ctx, path + ".values", $"must be empty when operator is {expression.OperatorProperty}");
                    break;
                default:
                    Error(ctx, path + ".operator",
                        $"unknown operator \"{expression.OperatorProperty}\"; use one of {string.Join(", ", SelectorOperators)}");
                    break;
            }

            for (var j = 0; j < values.Count; j++)
                if (LabelSyntax.ValueProblem(values[j]) is { } valueProblem)
                    Error(ctx, $"{path}.values[{j}]", valueProblem);
        }
    }

    private static void ValidateSchedule(string? schedule, ValidationContext<V1alpha1NetworkDiagnosis> ctx)
    {
        if (schedule is null)
            return;
        if (string.IsNullOrWhiteSpace(schedule))
        {
            Error(ctx, "spec.schedule", "must not be empty; omit it to run once per spec generation");
            return;
        }

        if (!CronSchedule.TryParse(schedule, out _, out var problem))
            Error(ctx, "spec.schedule", problem);
    }

    private static void ValidateTimeZone(string? zone, ValidationContext<V1alpha1NetworkDiagnosis> ctx)
    {
        if (zone is null)
            return;
        if (!CronSchedule.TryFindZone(zone, out _, out var problem))
            Error(ctx, "spec.timeZone", problem);
        if (ctx.InstanceToValidate.Spec.Schedule is null)
            Error(ctx, "spec.timeZone", "is only meaningful with spec.schedule; set a schedule or remove the time zone");
    }

    private static void ValidateSuspend(bool? suspend, ValidationContext<V1alpha1NetworkDiagnosis> ctx)
    {
        // suspend: false is harmless anywhere; suspend: true on a one-shot diagnosis would silently
        // never run, which is what the user should hear about.
        if (suspend == true && ctx.InstanceToValidate.Spec.Schedule is null)
            Error(ctx, "spec.suspend", "only suspends a scheduled diagnosis; set spec.schedule, or delete the diagnosis to stop it");
    }

    private static void ValidateTimeout(string? timeout, ValidationContext<V1alpha1NetworkDiagnosis> ctx)
    {
        if (timeout is null)
            return;
        if (!DurationParser.TryParse(timeout, out var value, out var problem))
            Error(ctx, "spec.timeout", $"\"{timeout}\" is not a duration ({problem}); write it like 90s, 2m or 1h30m");
        else if (value <= TimeSpan.Zero)
            Error(ctx, "spec.timeout", $"\"{timeout}\" must be a positive duration");
        else if (value > MaxTimeout)
            Error(ctx, "spec.timeout", $"\"{timeout}\" is longer than the maximum of {DurationParser.Format(MaxTimeout)}");
    }

    private static void ValidateMaxConcurrentProbes(int? value, ValidationContext<V1alpha1NetworkDiagnosis> ctx)
    {
        if (value is { } n && n is < MinConcurrentProbes or > MaxConcurrentProbes)
            Error(ctx, "spec.maxConcurrentProbes", $"{n} is out of range; it must be between {MinConcurrentProbes} and {MaxConcurrentProbes}");
    }

    private static void ValidateHistoryLimit(int? value, ValidationContext<V1alpha1NetworkDiagnosis> ctx)
    {
        if (value is { } n && n is < 0 or > MaxHistoryLimit)
            Error(ctx, "spec.historyLimit", $"{n} is out of range; it must be between 0 and {MaxHistoryLimit}");
    }

    private static void ValidateRemediation(RemediationSpec? remediation, ValidationContext<V1alpha1NetworkDiagnosis> ctx)
    {
        if (remediation is null)
            return;

        var mode = remediation.Mode ?? RemediationModes.Suggest;
        var modeKnown = RemediationModes.All.Contains(mode, StringComparer.Ordinal);
        if (!modeKnown)
            Error(ctx, "spec.remediation.mode", $"unknown mode \"{mode}\"{Suggest(mode, RemediationModes.All)}; use one of {string.Join(", ", RemediationModes.All)}");

        var actions = remediation.Actions ?? [];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var checks = ctx.InstanceToValidate.Spec.Checks;
        for (var i = 0; i < actions.Count; i++)
        {
            var path = $"spec.remediation.actions[{i}]";
            var action = actions[i];
            if (!ActionNames.All.Contains(action, StringComparer.Ordinal))
            {
                Error(ctx, path, $"unknown action \"{action}\"{Suggest(action, ActionNames.All)}; known actions: {string.Join(", ", ActionNames.All)}");
                continue;
            }

            if (!seen.Add(action))
                Warning(ctx, path, $"action \"{action}\" is listed more than once");

            // An allowlisted action whose check is not run can never fire: most likely a typo in intent.
            var fixes = CheckNames.Catalog.Where(c => c.AutoAction == action).Select(c => c.Name).ToArray();
            if (checks is { Count: > 0 } && fixes.Length > 0 && !fixes.Any(checks.Contains))
                Warning(ctx, path, $"action \"{action}\" fixes findings of {string.Join(", ", fixes)}, which spec.checks does not run");
        }

        if (modeKnown && mode == RemediationModes.Auto && actions.Count == 0)
            Error(ctx, "spec.remediation.actions", "must list at least one action when mode is Auto");
        if (mode == RemediationModes.Off && actions.Count > 0)
            Warning(ctx, "spec.remediation.actions", "are ignored while mode is Off");
        if (modeKnown && mode != RemediationModes.Auto && remediation.DryRun == true)
            Warning(ctx, "spec.remediation.dryRun", $"only affects mode Auto; with mode {mode} nothing is changed anyway");
    }

    private static void ValidateExternalDnsName(string? name, ValidationContext<V1alpha1NetworkDiagnosis> ctx)
    {
        if (name is not null && !LabelSyntax.IsDnsName(name.Trim()))
            Error(ctx, "spec.externalDnsName", $"\"{name}\" is not a DNS name (e.g. example.com)");
    }

    private static void ValidateDnsUpstreams(List<string>? upstreams, ValidationContext<V1alpha1NetworkDiagnosis> ctx)
    {
        if (upstreams is null)
            return;
        for (var i = 0; i < upstreams.Count; i++)
        {
            var path = $"spec.dnsUpstreams[{i}]";
            var text = upstreams[i];
            if (!TryParseStrictIp(text, out var address))
            {
                Error(ctx, path, $"\"{text}\" is not an IP address");
                continue;
            }

            // A loopback upstream in the Corefile is exactly the forwarding loop dnsLoop reports.
            if (IPAddress.IsLoopback(address))
                Error(ctx, path, $"{text} is a loopback address; CoreDNS forwarding there loops back to itself");
            else if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || IsMulticast(address))
                Error(ctx, path, $"{text} cannot be a DNS server address");
        }
    }

    /// <summary>
    /// <see cref="IPAddress.TryParse(string?, out IPAddress?)"/> also accepts "1" or "10.1" (inet_aton
    /// shorthands); a spec should only carry the dotted-quad or IPv6 forms people mean.
    /// </summary>
    private static bool TryParseStrictIp(string? text, out IPAddress address)
    {
        address = IPAddress.None;
        if (string.IsNullOrWhiteSpace(text) || !IPAddress.TryParse(text, out var parsed))
            return false;
        if (parsed.AddressFamily == AddressFamily.InterNetwork &&
            (text.Count(c => c == '.') != 3 || text.Split('.').Any(p => p.Length == 0 || p.Length > 3 || !p.All(char.IsAsciiDigit))))
            return false;
        if (parsed.AddressFamily == AddressFamily.InterNetworkV6 && text.Contains('%'))
            return false;
        address = parsed;
        return true;
    }

    private static bool IsMulticast(IPAddress address) =>
        address.IsIPv6Multicast ||
        (address.AddressFamily == AddressFamily.InterNetwork && address.GetAddressBytes()[0] is >= 224 and <= 239);

    /// <summary>" (did you mean "dnsLoop"?)" for a near miss such as a wrong case, else "".</summary>
    private static string Suggest(string? given, IReadOnlyList<string> known)
    {
        if (string.IsNullOrEmpty(given))
            return "";
        var match = known.FirstOrDefault(k => string.Equals(k, given, StringComparison.OrdinalIgnoreCase))
                    ?? known.FirstOrDefault(k => EditDistance(k.ToLowerInvariant(), given.ToLowerInvariant()) <= 2);
        return match is null ? "" : $" (did you mean \"{match}\"?)";
    }

    private static int EditDistance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }

        return row[b.Length];
    }

    private static void Error(ValidationContext<V1alpha1NetworkDiagnosis> ctx, string path, string problem) =>
        ctx.AddFailure(new ValidationFailure(path, $"{path}: {problem}") { Severity = ValidationSeverity.Error });

    private static void Warning(ValidationContext<V1alpha1NetworkDiagnosis> ctx, string path, string problem) =>
        ctx.AddFailure(new ValidationFailure(path, $"{path}: {problem}") { Severity = ValidationSeverity.Warning });
}
