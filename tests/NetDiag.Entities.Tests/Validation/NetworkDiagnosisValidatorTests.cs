using k8s.Models;
using NetDiag.Entities.Api;
using NetDiag.Entities.Validation;

namespace NetDiag.Entities.Tests.Validation;

public class NetworkDiagnosisValidatorTests
{
    private static readonly NetworkDiagnosisValidator Validator = new();

    private static V1alpha1NetworkDiagnosis Diagnosis(Action<NetworkDiagnosisSpec> change)
    {
        var diagnosis = new V1alpha1NetworkDiagnosis { Metadata = new V1ObjectMeta { Name = "t" } };
        change(diagnosis.Spec);
        return diagnosis;
    }

    private static Action<NetworkDiagnosisSpec> Spec(Action<NetworkDiagnosisSpec> change) => change;

    /// <summary>Specs a user would write that must pass without a single error or warning.</summary>
    public static TheoryData<string, Action<NetworkDiagnosisSpec>> ValidSpecs => new()
    {
        { "empty spec: all checks once", Spec(_ => { }) },
        { "the api.md example", Spec(s => s.Checks = ["dnsLoop", "podCidrOverlap", "ipForward", "flannelPort"]) },
        { "every known check", Spec(s => s.Checks = [.. CheckNames.All]) },
        { "nightly in a zone", Spec(s => { s.Schedule = "0 2 * * *"; s.TimeZone = "Europe/Berlin"; s.HistoryLimit = 10; }) },
        { "@hourly macro", Spec(s => s.Schedule = "@hourly") },
        { "@daily macro, suspended", Spec(s => { s.Schedule = "@daily"; s.Suspend = true; }) },
        { "step and range cron", Spec(s => s.Schedule = "*/15 8-18 * * 1-5") },
        { "an external name for the DNS check", Spec(s => s.ExternalDnsName = "example.com.") },
        { "UTC zone", Spec(s => { s.Schedule = "0 * * * *"; s.TimeZone = "UTC"; }) },
        { "timeouts", Spec(s => s.Timeout = "1h") },
        { "compound timeout", Spec(s => s.Timeout = "1m30s") },
        { "bounds", Spec(s => { s.MaxConcurrentProbes = 1; s.HistoryLimit = 0; }) },
        { "upper bounds", Spec(s => { s.MaxConcurrentProbes = 1000; s.HistoryLimit = 50; }) },
        { "auto with actions and dry run", Spec(s => { s.Checks = ["dnsLoop", "flannelPort"]; s.Remediation = new() { Mode = "Auto", Actions = ["patchCorefileForward", "patchFlannelBackend"], DryRun = true }; }) },
        { "suggest with no actions", Spec(s => s.Remediation = new() { Mode = "Suggest" }) },
        { "upstreams v4 and v6", Spec(s => s.DnsUpstreams = ["8.8.8.8", "2001:4860:4860::8888"]) },
        { "control-plane selector", Spec(s => s.NodeSelector = new V1LabelSelector
            {
                MatchExpressions = [new V1LabelSelectorRequirement { Key = "node-role.kubernetes.io/control-plane", OperatorProperty = "Exists" }],
            }) },
        { "In selector and labels", Spec(s => s.NodeSelector = new V1LabelSelector
            {
                MatchLabels = new Dictionary<string, string> { ["kubernetes.io/os"] = "linux", ["empty-value"] = "" },
                MatchExpressions = [new V1LabelSelectorRequirement { Key = "zone", OperatorProperty = "NotIn", Values = ["a", "b-2"] }],
            }) },
    };

    [Theory]
    [MemberData(nameof(ValidSpecs))]
    public void Accepts_valid_specs_without_a_word(string name, Action<NetworkDiagnosisSpec> change)
    {
        var result = Validator.Validate(Diagnosis(change));
        Assert.True(result.Errors.Count == 0, $"{name}: {string.Join(" | ", result.Errors)}");
        Assert.Equal("", result.ToConditionMessage());
    }

    /// <summary>Invalid specs: the field path the error must name, and a phrase that tells what is wrong.</summary>
    public static TheoryData<Action<NetworkDiagnosisSpec>, string, string> InvalidSpecs => new()
    {
        { Spec(s => s.Checks = ["dnsLoop", "dnsloop"]), "spec.checks[1]", "unknown check \"dnsloop\" (did you mean \"dnsLoop\"?)" },
        { Spec(s => s.Checks = ["arp"]), "spec.checks[0]", "known checks: podCidrOverlap" },
        { Spec(s => s.Schedule = "0 2 * *"), "spec.schedule", "is not a valid cron expression" },
        { Spec(s => s.Schedule = "61 * * * *"), "spec.schedule", "not a valid cron expression (Minutes: Value must be a number between 0 and 59" },
        { Spec(s => s.Schedule = "0 25 * * *"), "spec.schedule", "(Hours: Value must be a number between 0 and 23" },
        { Spec(s => s.Schedule = "0 0 2 * * *"), "spec.schedule", "use 5 fields" },
        { Spec(s => s.Schedule = "@often"), "spec.schedule", "not a valid cron" },
        { Spec(s => s.Schedule = " "), "spec.schedule", "must not be empty" },
        { Spec(s => { s.Schedule = "@daily"; s.TimeZone = "Mars/Olympus"; }), "spec.timeZone", "unknown time zone \"Mars/Olympus\"" },
        { Spec(s => { s.Schedule = "@daily"; s.TimeZone = ""; }), "spec.timeZone", "must not be empty" },
        { Spec(s => s.TimeZone = "Europe/Berlin"), "spec.timeZone", "only meaningful with spec.schedule" },
        { Spec(s => s.Suspend = true), "spec.suspend", "only suspends a scheduled diagnosis" },
        { Spec(s => s.Timeout = "2 minutes"), "spec.timeout", "is not a duration" },
        { Spec(s => s.Timeout = "120"), "spec.timeout", "has no unit" },
        { Spec(s => s.Timeout = "0"), "spec.timeout", "must be a positive duration" },
        { Spec(s => s.Timeout = "-5m"), "spec.timeout", "must be a positive duration" },
        { Spec(s => s.Timeout = "1h1s"), "spec.timeout", "longer than the maximum of 1h" },
        { Spec(s => s.MaxConcurrentProbes = 0), "spec.maxConcurrentProbes", "between 1 and 1000" },
        { Spec(s => s.MaxConcurrentProbes = 1001), "spec.maxConcurrentProbes", "out of range" },
        { Spec(s => s.HistoryLimit = -1), "spec.historyLimit", "between 0 and 50" },
        { Spec(s => s.HistoryLimit = 51), "spec.historyLimit", "out of range" },
        { Spec(s => s.Remediation = new() { Mode = "auto", Actions = ["restartCoreDNS"] }), "spec.remediation.mode", "unknown mode \"auto\" (did you mean \"Auto\"?)" },
        { Spec(s => s.Remediation = new() { Mode = "Auto" }), "spec.remediation.actions", "must list at least one action when mode is Auto" },
        { Spec(s => s.Remediation = new() { Mode = "Auto", Actions = [] }), "spec.remediation.actions", "must list at least one action when mode is Auto" },
        { Spec(s => s.Remediation = new() { Mode = "Auto", Actions = ["rebootNode"] }), "spec.remediation.actions[0]", "unknown action \"rebootNode\"" },
        { Spec(s => s.Remediation = new() { Actions = ["restartCoreDns"] }), "spec.remediation.actions[0]", "did you mean \"restartCoreDNS\"?" },
        { Spec(s => s.DnsUpstreams = ["8.8.8"]), "spec.dnsUpstreams[0]", "not an IP address" },
        { Spec(s => s.DnsUpstreams = ["1.1.1.1", "dns.google"]), "spec.dnsUpstreams[1]", "not an IP address" },
        { Spec(s => s.DnsUpstreams = ["127.0.0.53"]), "spec.dnsUpstreams[0]", "loopback" },
        { Spec(s => s.DnsUpstreams = ["::1"]), "spec.dnsUpstreams[0]", "loopback" },
        { Spec(s => s.DnsUpstreams = ["0.0.0.0"]), "spec.dnsUpstreams[0]", "cannot be a DNS server" },
        { Spec(s => s.ExternalDnsName = "not a name!"), "spec.externalDnsName", "not a DNS name" },
        { Spec(s => s.ExternalDnsName = "-bad.example.com"), "spec.externalDnsName", "not a DNS name" },
        { Spec(s => s.NodeSelector = new() { MatchExpressions = [new() { Key = "zone", OperatorProperty = "Equals", Values = ["a"] }] }),
            "spec.nodeSelector.matchExpressions[0].operator", "use one of In, NotIn, Exists, DoesNotExist" },
        { Spec(s => s.NodeSelector = new() { MatchExpressions = [new() { Key = "zone", OperatorProperty = "In" }] }),
            "spec.nodeSelector.matchExpressions[0].values", "at least one value when operator is In" },
        { Spec(s => s.NodeSelector = new() { MatchExpressions = [new() { Key = "zone", OperatorProperty = "Exists", Values = ["a"] }] }),
            "spec.nodeSelector.matchExpressions[0].values", "must be empty when operator is Exists" },
        { Spec(s => s.NodeSelector = new() { MatchExpressions = [new() { Key = "bad key!", OperatorProperty = "Exists" }] }),
            "spec.nodeSelector.matchExpressions[0].key", "not a valid label key" },
        { Spec(s => s.NodeSelector = new() { MatchExpressions = [new() { Key = "zone", OperatorProperty = "In", Values = ["-a"] }] }),
            "spec.nodeSelector.matchExpressions[0].values[0]", "not a valid label value" },
        { Spec(s => s.NodeSelector = new() { MatchLabels = new Dictionary<string, string> { ["Example.COM/role"] = "x" } }),
            "spec.nodeSelector.matchLabels[Example.COM/role]", "invalid prefix" },
        { Spec(s => s.NodeSelector = new() { MatchLabels = new Dictionary<string, string> { ["role"] = new string('a', 64) } }),
            "spec.nodeSelector.matchLabels[role]", "not a valid label value" },
    };

    [Theory]
    [MemberData(nameof(InvalidSpecs))]
    public void Refuses_invalid_specs_naming_the_field(Action<NetworkDiagnosisSpec> change, string path, string phrase)
    {
        var result = Validator.Validate(Diagnosis(change));

        Assert.True(result.HasErrors());
        var error = Assert.Single(result.Errors, e => e.Severity == FluentValidation.Severity.Error);
        Assert.Equal(path, error.PropertyName);
        Assert.StartsWith(path + ": ", error.ErrorMessage);
        Assert.Contains(phrase, error.ErrorMessage);
        Assert.Equal(error.ErrorMessage, result.ToConditionMessage());
    }

    public static TheoryData<Action<NetworkDiagnosisSpec>, string, string> Warnings => new()
    {
        { Spec(s => s.Checks = ["dnsLoop", "dnsLoop"]), "spec.checks[1]", "listed more than once" },
        { Spec(s => s.Remediation = new() { Mode = "Off", Actions = ["restartCoreDNS"] }), "spec.remediation.actions", "ignored while mode is Off" },
        { Spec(s => s.Remediation = new() { Mode = "Suggest", DryRun = true }), "spec.remediation.dryRun", "only affects mode Auto" },
        { Spec(s => { s.Checks = ["ipForward"]; s.Remediation = new() { Mode = "Auto", Actions = ["enableIpForward", "patchFlannelBackend"] }; }),
            "spec.remediation.actions[1]", "fixes findings of flannelPort, which spec.checks does not run" },
        { Spec(s => s.Remediation = new() { Mode = "Auto", Actions = ["restartCoreDNS", "restartCoreDNS"] }), "spec.remediation.actions[1]", "listed more than once" },
    };

    [Theory]
    [MemberData(nameof(Warnings))]
    public void Warns_without_blocking_the_run(Action<NetworkDiagnosisSpec> change, string path, string phrase)
    {
        var result = Validator.Validate(Diagnosis(change));

        Assert.False(result.HasErrors());
        Assert.Equal("", result.ToConditionMessage());
        var warning = Assert.Single(result.WarningMessages());
        Assert.StartsWith(path + ": ", warning);
        Assert.Contains(phrase, warning);
    }

    [Fact]
    public void Several_errors_make_one_message_that_counts_and_names_each_field()
    {
        var result = Validator.Validate(Diagnosis(s =>
        {
            s.Checks = ["nope"];
            s.Schedule = "every day";
            s.Timeout = "forever";
        }));

        var message = result.ToConditionMessage();
        Assert.StartsWith("3 problems: spec.checks[0]: ", message);
        Assert.Contains("; spec.schedule: ", message);
        Assert.Contains("; spec.timeout: ", message);
    }

    [Fact]
    public void A_huge_spec_gives_a_message_short_enough_for_a_condition()
    {
        var result = Validator.Validate(Diagnosis(s => s.Checks = Enumerable.Range(0, 200).Select(i => $"bogus{i}").ToList()));

        var message = result.ToConditionMessage();
        Assert.Equal(ValidationResultExtensions.MaxMessageLength, message.Length);
        Assert.StartsWith("200 problems: spec.checks[0]: unknown check \"bogus0\"", message);
        Assert.EndsWith("...", message);
    }

    [Fact]
    public void A_missing_spec_is_an_error_not_a_crash()
    {
        var diagnosis = new V1alpha1NetworkDiagnosis { Spec = null! };

        var result = Validator.Validate(diagnosis);

        Assert.Equal("spec: must be present", result.ToConditionMessage());
    }

    [Fact]
    public void Null_items_are_errors_not_crashes()
    {
        var result = Validator.Validate(Diagnosis(s =>
        {
            s.Checks = [null!];
            s.DnsUpstreams = [null!];
            s.Remediation = new() { Actions = [null!] };
            s.NodeSelector = new() { MatchExpressions = [null!] };
        }));

        Assert.Equal(4, result.ErrorMessages().Count);
    }
}
