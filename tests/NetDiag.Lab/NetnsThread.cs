using System.Runtime.InteropServices;

namespace NetDiag.Lab;

/// <summary>
/// Runs code on a dedicated thread that has joined a network namespace (setns(2) on that thread
/// only: network namespaces are per task, so the rest of the process is unaffected). Sockets
/// created there, and /proc/sys/net files opened there, belong to that namespace. The thread
/// ends with the work, so no pooled thread ever carries a foreign namespace.
/// </summary>
internal static class NetnsThread
{
    public static Task<T> RunAsync<T>(string netns, Func<T> work)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/run/netns/{netns}");
                if (Native.setns((int)handle.DangerousGetHandle(), Native.CLONE_NEWNET) != 0)
                    throw new LabException($"setns into {netns} failed: errno {Marshal.GetLastPInvokeError()}");
                tcs.SetResult(work());
            }
            catch (Exception e)
            {
                tcs.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = $"netns {netns}",
        };
        thread.Start();
        return tcs.Task;
    }
}
