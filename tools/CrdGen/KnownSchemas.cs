using System.Text.Json.Nodes;

namespace NetDiag.Tools.CrdGen;

/// <summary>
/// Schemas of the Kubernetes types the API embeds, written out as the apimachinery types define
/// them (what controller-gen emits), because reflecting over the C# client's models would lose
/// their validation (a condition's required fields, patterns and lengths).
/// </summary>
public static class KnownSchemas
{
    /// <summary>metav1.LabelSelector.</summary>
    public static JsonObject LabelSelector(string? description) => Schema.Obj(
        ("description", description ?? "A label query over a set of resources. An empty selector matches everything; a null one, nothing."),
        ("type", "object"),
        ("properties", Schema.Obj(
            ("matchExpressions", Schema.Obj(
                ("description", "A list of label selector requirements, ANDed."),
                ("type", "array"),
                ("items", Schema.Obj(
                    ("description", "A selector that contains values, a key, and an operator that relates the key and values."),
                    ("type", "object"),
                    ("properties", Schema.Obj(
                        ("key", Schema.Obj(("description", "The label key that the selector applies to."), ("type", "string"))),
                        ("operator", Schema.Obj(
                            ("description", "How the key relates to the values: In, NotIn, Exists or DoesNotExist."),
                            ("type", "string"),
                            ("enum", Schema.Arr("In", "NotIn", "Exists", "DoesNotExist")))),
                        ("values", Schema.Obj(
                            ("description", "Values for In and NotIn (non-empty); empty for Exists and DoesNotExist."),
                            ("type", "array"),
                            ("items", Schema.Obj(("type", "string"))))))),
                    ("required", Schema.Arr("key", "operator")))))),
            ("matchLabels", Schema.Obj(
                ("description", "A map of {key,value} pairs, each equivalent to a matchExpressions element with operator In and that single value."),
                ("type", "object"),
                ("additionalProperties", Schema.Obj(("type", "string"))))))),
        ("x-kubernetes-map-type", "atomic"));

    /// <summary>metav1.Condition (KEP-1623), with its validation.</summary>
    public static JsonObject Condition() => Schema.Obj(
        ("description", "Details for one aspect of the current state of this API resource (metav1.Condition)."),
        ("type", "object"),
        ("properties", Schema.Obj(
            ("lastTransitionTime", Schema.Obj(
                ("description", "When the condition last changed from one status to another."),
                ("type", "string"),
                ("format", "date-time"))),
            ("message", Schema.Obj(
                ("description", "A human readable message with details about the transition. May be empty."),
                ("type", "string"),
                ("maxLength", 32768))),
            ("observedGeneration", Schema.Obj(
                ("description", "The .metadata.generation the condition was set based upon."),
                ("type", "integer"),
                ("format", "int64"),
                ("minimum", 0))),
            ("reason", Schema.Obj(
                ("description", "A programmatic identifier (CamelCase) for the reason of the last transition."),
                ("type", "string"),
                ("maxLength", 1024),
                ("minLength", 1),
                ("pattern", "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"))),
            ("status", Schema.Obj(
                ("description", "Status of the condition: True, False or Unknown."),
                ("type", "string"),
                ("enum", Schema.Arr("True", "False", "Unknown")))),
            ("type", Schema.Obj(
                ("description", "Type of condition in CamelCase (Ready, Healthy, Remediated)."),
                ("type", "string"),
                ("maxLength", 316),
                ("pattern", @"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"))))),
        ("required", Schema.Arr("lastTransitionTime", "message", "reason", "status", "type")));
}
