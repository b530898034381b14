using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using NetDiag.Operator.Runtime;

namespace NetDiag.Operator.Tests.Runtime;

public class WatchFailuresTests
{
    internal static HttpOperationException Http(HttpStatusCode code, string body = "") => new($"status {(int)code}")
    {
        Response = new HttpResponseMessageWrapper(new HttpResponseMessage(code), body),
    };

    [Theory]
    [InlineData(HttpStatusCode.Gone, WatchFailureAction.Relist)]
    [InlineData(HttpStatusCode.TooManyRequests, WatchFailureAction.BackoffAndResume)] // a new CRD's storage is initialising
    [InlineData(HttpStatusCode.NotFound, WatchFailureAction.BackoffAndResume)]        // the CRD is not served yet
    [InlineData(HttpStatusCode.InternalServerError, WatchFailureAction.BackoffAndResume)]
    [InlineData(HttpStatusCode.ServiceUnavailable, WatchFailureAction.BackoffAndResume)]
    [InlineData(HttpStatusCode.GatewayTimeout, WatchFailureAction.BackoffAndResume)]
    public void Http_statuses(HttpStatusCode code, WatchFailureAction expected) =>
        Assert.Equal(expected, WatchFailures.Classify(Http(code), cancellationRequested: false));

    [Fact]
    public void A_too_large_resource_version_after_an_apiserver_restart_relists() =>
        Assert.Equal(WatchFailureAction.Relist, WatchFailures.Classify(
            Http(HttpStatusCode.GatewayTimeout, """{"kind":"Status","message":"Timeout: Too large resource version: 120, current: 100","code":504}"""), false));

    [Fact]
    public void A_watch_error_event_with_410_relists()
    {
        var status = new V1Status { Code = 410, Reason = "Expired", Message = "too old resource version: 1 (50)" };
        Assert.Equal(WatchFailureAction.Relist, WatchFailures.Classify(status));
        Assert.Equal(WatchFailureAction.Relist, WatchFailures.Classify(new WatchErrorException(status), false));
        Assert.Equal(WatchFailureAction.Relist, WatchFailures.Classify(new KubernetesException(status), false));
    }

    [Fact]
    public void Other_watch_error_events_back_off() =>
        Assert.Equal(WatchFailureAction.BackoffAndResume, WatchFailures.Classify(new V1Status { Code = 500, Reason = "InternalError" }));

    [Fact]
    public void Transport_errors_back_off()
    {
        Assert.Equal(WatchFailureAction.BackoffAndResume, WatchFailures.Classify(new HttpRequestException("Connection refused"), false));
        Assert.Equal(WatchFailureAction.BackoffAndResume, WatchFailures.Classify(new IOException("reset by peer"), false));
    }

    [Fact]
    public void Cancellation_on_shutdown_stops() =>
        Assert.Equal(WatchFailureAction.Stop, WatchFailures.Classify(new TaskCanceledException(), cancellationRequested: true));

    [Fact]
    public void Descriptions_name_the_status_and_message()
    {
        Assert.Contains("429", WatchFailures.Describe(Http(HttpStatusCode.TooManyRequests, "storage is (re)initializing")));
        Assert.Contains("storage is (re)initializing", WatchFailures.Describe(Http(HttpStatusCode.TooManyRequests, "storage is (re)initializing")));
        Assert.Contains("Connection refused", WatchFailures.Describe(new HttpRequestException("Connection refused")));
    }
}
