using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace NetDiag.Tools.CrdGen;

/// <summary>
/// The <c>&lt;summary&gt;</c> texts of the API types (NetDiag.Entities.xml, built with
/// GenerateDocumentationFile), so <c>kubectl explain nd.spec.timeout</c> shows the same words as
/// the C# docs. One source of truth for field documentation.
/// </summary>
public sealed partial class XmlDocs
{
    private readonly Dictionary<string, string> _summaries;

    private XmlDocs(Dictionary<string, string> summaries) => _summaries = summaries;

    /// <summary>Loads the XML file next to <paramref name="assembly"/>; fails loudly when it is missing.</summary>
    public static XmlDocs For(Assembly assembly)
    {
        var path = Path.ChangeExtension(assembly.Location, ".xml");
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"{path} is missing: build {assembly.GetName().Name} with GenerateDocumentationFile=true; without it the CRD would lose its descriptions");

        var summaries = XDocument.Load(path).Descendants("member")
            .Where(m => m.Attribute("name") is not null && m.Element("summary") is not null)
            .ToDictionary(m => m.Attribute("name")!.Value, m => Render(m.Element("summary")!));
        return new XmlDocs(summaries);
    }

    public string? Of(Type type) =>
        _summaries.GetValueOrDefault("T:" + type.FullName!.Replace('+', '.'));

    public string? Of(PropertyInfo property) =>
        _summaries.GetValueOrDefault($"P:{property.DeclaringType!.FullName!.Replace('+', '.')}.{property.Name}");

    // <see cref="P:X.NodeCount"/> reads as "nodeCount" (the JSON name users see); <c>2m</c> as 2m.
    private static string Render(XElement summary)
    {
        var sb = new StringBuilder();
        foreach (var node in summary.Nodes())
        {
            switch (node)
            {
                case XText text:
                    sb.Append(text.Value);
                    break;
                case XElement { Name.LocalName: "see" } see when see.Attribute("cref") is { } cref:
                    var name = cref.Value[(cref.Value.LastIndexOf('.') + 1)..];
                    sb.Append(char.ToLowerInvariant(name[0])).Append(name[1..]);
                    break;
                case XElement { Name.LocalName: "see" } see when see.Attribute("langword") is { } word:
                    sb.Append(word.Value);
                    break;
                case XElement element:
                    sb.Append(element.Value);
                    break;
            }
        }

        return Whitespace().Replace(sb.ToString(), " ").Trim();
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
