using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace NetDiag.Entities.Tests.Support;

/// <summary>
/// The subset of OpenAPI v3 validation the generated CRD uses (type, enum, pattern, bounds,
/// required, unknown fields, defaults), applied offline so a sample or a schema change is judged
/// in milliseconds; the real API server judges the same files in NetDiag.Api.Tests.
/// Errors read like the API server's: <c>spec.checks[0]: Unsupported value: "arp"</c>.
/// </summary>
public static class StructuralSchema
{
    public static IReadOnlyList<string> Validate(JsonNode? value, JsonObject schema, string path = "")
    {
        var errors = new List<string>();
        Check(value, schema, path, errors);
        return errors;
    }

    /// <summary>Fills schema defaults the way the API server does (a default is applied, then descended into).</summary>
    public static void ApplyDefaults(JsonNode? value, JsonObject schema)
    {
        if (value is JsonObject obj && schema["properties"] is JsonObject properties)
        {
            foreach (var (name, propertySchema) in properties)
                if (!obj.ContainsKey(name) && propertySchema!["default"] is { } defaultValue)
                    obj[name] = defaultValue.DeepClone();
            foreach (var (name, child) in obj.ToArray())
                if (properties[name] is JsonObject childSchema)
                    ApplyDefaults(child, childSchema);
        }
        else if (value is JsonArray array && schema["items"] is JsonObject itemSchema)
        {
            foreach (var item in array)
                ApplyDefaults(item, itemSchema);
        }
    }

    private static void Check(JsonNode? value, JsonObject schema, string path, List<string> errors)
    {
        if (value is null)
            return;
        var type = schema["type"]?.GetValue<string>();
        var kind = value.GetValueKind();
        var typeOk = type switch
        {
            "object" => kind == JsonValueKind.Object,
            "array" => kind == JsonValueKind.Array,
            "string" => kind == JsonValueKind.String,
            "boolean" => kind is JsonValueKind.True or JsonValueKind.False,
            "integer" => kind == JsonValueKind.Number && Num(value) % 1 == 0,
            "number" => kind == JsonValueKind.Number,
            _ => true,
        };
        if (!typeOk)
        {
            errors.Add($"{path}: Invalid value: \"{kind}\": {path} in body must be of type {type}");
            return;
        }

        if (schema["enum"] is JsonArray allowed && !allowed.Any(a => JsonNode.DeepEquals(a, value)))
            errors.Add($"{path}: Unsupported value: {value.ToJsonString()}: supported values: {string.Join(", ", allowed.Select(a => a!.ToJsonString()))}");
        if (schema["pattern"] is { } pattern && !Regex.IsMatch(value.GetValue<string>(), pattern.GetValue<string>()))
            errors.Add($"{path}: Invalid value: {value.ToJsonString()}: {path} in body should match '{pattern}'");
        if (schema["minimum"] is { } min && Num(value) < Num(min))
            errors.Add($"{path}: Invalid value: {value}: {path} in body should be greater than or equal to {min}");
        if (schema["maximum"] is { } max && Num(value) > Num(max))
            errors.Add($"{path}: Invalid value: {value}: {path} in body should be less than or equal to {max}");

        if (value is JsonObject obj)
        {
            var properties = schema["properties"] as JsonObject;
            var additional = schema["additionalProperties"] as JsonObject;
            foreach (var required in (schema["required"] as JsonArray ?? []).Select(r => r!.GetValue<string>()))
                if (!obj.ContainsKey(required))
                    errors.Add($"{Join(path, required)}: Required value");
            foreach (var (name, child) in obj)
            {
                if (properties?[name] is JsonObject childSchema)
                    Check(child, childSchema, Join(path, name), errors);
                else if (additional is not null)
                    Check(child, additional, Join(path, name), errors);
                else if (schema["x-kubernetes-preserve-unknown-fields"] is null && properties is not null)
                    errors.Add($"{Join(path, name)}: unknown field (the API server would drop it silently)");
            }
        }
        else if (value is JsonArray array && schema["items"] is JsonObject items)
        {
            for (var i = 0; i < array.Count; i++)
                Check(array[i], items, $"{path}[{i}]", errors);
        }
    }

    // A JsonValue built from an int will not GetValue<double>(); its JSON text always parses.
    private static double Num(JsonNode node) => double.Parse(node.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";
}
