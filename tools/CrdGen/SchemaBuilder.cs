using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s.Models;
using NetDiag.Entities.Api;

namespace NetDiag.Tools.CrdGen;

/// <summary>
/// Reflects over the API classes to build an OpenAPI v3 structural schema (every node has a type,
/// no unknown fields), the only kind apiextensions.k8s.io/v1 accepts and the one defaulting needs.
/// <code>
///   C#                                   schema
///   [JsonPropertyName("x")]              properties.x (other properties are not serialized, so skipped)
///   string / bool / int / long / double  string / boolean / integer int32 / integer int64 / number double
///   DateTime                             string, format date-time
///   List&lt;T&gt;                              array, items: T
///   Dictionary&lt;string,T&gt;                 object, additionalProperties: T
///   class                                object with properties (recursively)
///   V1LabelSelector, V1Condition         written out in KnownSchemas
///   non-nullable, no default             listed in required (nullable: optional)
///   [DefaultValue(v)]                    default: v
///   [Range(a,b)]                         minimum: a, maximum: b
///   [EnumValues(T, m)]                   enum: T.m (on the items of a list)
///   [Pattern(p)], [MaxLength(n)]         pattern / maxLength (items of a list), maxItems for a list
///   object with defaults inside          default: {} so those defaults apply when it is omitted
///   XML doc summary                      description
/// </code>
/// Properties are sorted by JSON name and keys written in a fixed order, so the output depends
/// only on the types, never on reflection order.
/// </summary>
public sealed class SchemaBuilder(XmlDocs docs)
{
    private static readonly NullabilityInfoContext Nullability = new();

    /// <summary>The schema of an object type: its properties, required list and description.</summary>
    public JsonObject ForObject(Type type, string? description = null)
    {
        var properties = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
        var required = new SortedSet<string>(StringComparer.Ordinal);

        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetCustomAttribute<JsonIgnoreAttribute>() is not null)
                continue;
            var name = property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name
                       ?? throw new InvalidOperationException(
                           $"{type.Name}.{property.Name} has no [JsonPropertyName]: API fields spell their wire name explicitly");

            properties[name] = ForProperty(property);
            if (IsRequired(property))
                required.Add(name);
        }

        return Schema.Obj(
            ("description", description ?? docs.Of(type)),
            ("type", "object"),
            ("properties", Schema.Obj(properties.Select(p => (p.Key, (JsonNode?)p.Value)).ToArray())),
            ("required", required.Count > 0 ? Schema.Arr(required) : null));
    }

    /// <summary>The schema of one property, with the constraints its attributes declare.</summary>
    public JsonObject ForProperty(PropertyInfo property)
    {
        var description = docs.Of(property);
        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        var schema = ForType(type, description);

        // Constraints on a list apply to its items (enum, pattern, length), except the item count.
        var target = schema["type"]!.GetValue<string>() == "array" ? (JsonObject)schema["items"]! : schema;

        if (property.GetCustomAttribute<EnumValuesAttribute>() is { } enumValues)
            target["enum"] = Schema.Arr(enumValues.Values);
        if (property.GetCustomAttribute<PatternAttribute>() is { } pattern)
            target["pattern"] = pattern.Pattern;
        if (property.GetCustomAttribute<System.ComponentModel.DataAnnotations.MaxLengthAttribute>() is { } maxLength)
            schema[ReferenceEquals(target, schema) ? "maxLength" : "maxItems"] = maxLength.Length;
        if (property.GetCustomAttribute<RangeAttribute>() is { } range)
        {
            schema["minimum"] = ToJson(range.Minimum);
            schema["maximum"] = ToJson(range.Maximum);
        }

        if (property.GetCustomAttribute<DefaultValueAttribute>() is { } defaultValue)
            schema["default"] = ToJson(defaultValue.Value);
        else if (schema["type"]!.GetValue<string>() == "object" && HasNestedDefaults(type))
            schema["default"] = new JsonObject();

        return Canonical(schema);
    }

    private JsonObject ForType(Type type, string? description)
    {
        if (type == typeof(string)) return Scalar("string", null, description);
        if (type == typeof(bool)) return Scalar("boolean", null, description);
        if (type == typeof(int)) return Scalar("integer", "int32", description);
        if (type == typeof(long)) return Scalar("integer", "int64", description);
        if (type == typeof(double)) return Scalar("number", "double", description);
        if (type == typeof(DateTime) || type == typeof(DateTimeOffset)) return Scalar("string", "date-time", description);
        if (type == typeof(V1LabelSelector)) return KnownSchemas.LabelSelector(description);

        if (DictionaryValueType(type) is { } valueType)
            return Schema.Obj(("description", description), ("type", "object"), ("additionalProperties", ItemSchema(valueType)));

        if (ListItemType(type) is { } itemType)
        {
            var array = Schema.Obj(("description", description), ("type", "array"), ("items", ItemSchema(itemType)));
            // Conditions are a map keyed by type: a server-side apply or a strategic merge keeps one per type.
            if (itemType == typeof(V1Condition))
            {
                array["x-kubernetes-list-type"] = "map";
                array["x-kubernetes-list-map-keys"] = Schema.Arr("type");
            }

            return array;
        }

        if (type.IsClass && type.Namespace?.StartsWith("NetDiag.", StringComparison.Ordinal) == true)
            return ForObject(type, description);

        throw new NotSupportedException($"no schema mapping for {type.FullName}: add one to SchemaBuilder");
    }

    private JsonObject ItemSchema(Type itemType) =>
        itemType == typeof(V1Condition) ? KnownSchemas.Condition() : Canonical(ForType(itemType, null));

    private static JsonNode ToJson(object? value) => value switch
    {
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        double d => JsonValue.Create(d),
        _ => throw new NotSupportedException($"cannot write a {value?.GetType().Name ?? "null"} into a schema"),
    };

    private static JsonObject Scalar(string type, string? format, string? description) =>
        Schema.Obj(("description", description), ("type", type), ("format", format));

    private static bool IsRequired(PropertyInfo property)
    {
        if (property.GetCustomAttribute<DefaultValueAttribute>() is not null)
            return false;
        if (property.PropertyType.IsValueType)
            return Nullable.GetUnderlyingType(property.PropertyType) is null;
        return Nullability.Create(property).WriteState == NullabilityState.NotNull;
    }

    /// <summary>True when a property of <paramref name="type"/> (or deeper) declares a default.</summary>
    private static bool HasNestedDefaults(Type type) =>
        type.IsClass && type != typeof(string) &&
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Any(p =>
            p.GetCustomAttribute<DefaultValueAttribute>() is not null ||
            (p.PropertyType.Namespace?.StartsWith("NetDiag.", StringComparison.Ordinal) == true && HasNestedDefaults(p.PropertyType)));

    private static Type? ListItemType(Type type)
    {
        if (type.IsArray) return type.GetElementType();
        if (!type.IsGenericType) return null;
        var definition = type.GetGenericTypeDefinition();
        return definition == typeof(List<>) || definition == typeof(IList<>) || definition == typeof(IReadOnlyList<>) ||
               definition == typeof(ICollection<>) || definition == typeof(IEnumerable<>)
            ? type.GetGenericArguments()[0]
            : null;
    }

    private static Type? DictionaryValueType(Type type)
    {
        if (!type.IsGenericType) return null;
        var definition = type.GetGenericTypeDefinition();
        var args = type.GetGenericArguments();
        return (definition == typeof(Dictionary<,>) || definition == typeof(IDictionary<,>) || definition == typeof(IReadOnlyDictionary<,>))
               && args[0] == typeof(string)
            ? args[1]
            : null;
    }

    private static readonly string[] KeyOrder =
    [
        "description", "type", "format", "enum", "default", "pattern", "minLength", "maxLength",
        "minimum", "maximum", "minItems", "maxItems", "items", "properties", "additionalProperties", "required",
        "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type",
    ];

    /// <summary>The same keys in the same order whatever order the attributes were applied in.</summary>
    private static JsonObject Canonical(JsonObject schema)
    {
        var ordered = new JsonObject();
        foreach (var key in schema.Select(p => p.Key).OrderBy(k => Array.IndexOf(KeyOrder, k) is var i and >= 0 ? i : int.MaxValue).ThenBy(k => k, StringComparer.Ordinal).ToArray())
        {
            var value = schema[key];
            schema.Remove(key);
            ordered[key] = value;
        }

        return ordered;
    }
}
