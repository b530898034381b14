using System.Net;
using k8s.Autorest;

namespace NetDiag.Operator.Kubernetes;

/// <summary>Sorting API errors into "lasting, record as data" and "transient, retry".</summary>
public static class ApiErrors
{
    public static HttpStatusCode? StatusOf(Exception e) => (e as HttpOperationException)?.Response?.StatusCode;

    public static bool IsNotFound(Exception e) => StatusOf(e) == HttpStatusCode.NotFound;
    public static bool IsConflict(Exception e) => StatusOf(e) == HttpStatusCode.Conflict;

    /// <summary>Forbidden/Unauthorized: RBAC will not change by retrying; the check says Unknown.</summary>
    public static bool IsLasting(Exception e) => StatusOf(e) is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized;

    /// <summary>A one-line reason for a person (the API's Status message when there is one).</summary>
    public static string Describe(Exception e) => e switch
    {
        HttpOperationException h => $"{(int?)h.Response?.StatusCode} {h.Response?.StatusCode}: {FirstLine(h.Response?.Content) ?? h.Message}",
        _ => e.Message,
    };

    private static string? FirstLine(string? s)
    {
        if (string.IsNullOrWhiteSpace(s)) return null;
        // The body is a metav1.Status; its message is what kubectl would print.
        var i = s.IndexOf("\"message\":\"", StringComparison.Ordinal);
        if (i < 0) return s.Length > 200 ? s[..200] : s;
        var start = i + 11;
        var end = s.IndexOf('"', start);
        return end > start ? s[start..end] : null;
    }
}
