using System.Runtime.InteropServices;

namespace NetDiag.Lab;

/// <summary>The few libc calls the lab needs.</summary>
internal static partial class Native
{
    public const int CLONE_NEWNET = 0x40000000;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int sig);

    /// <summary>Moves the calling thread into the namespace behind <paramref name="fd"/>.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int setns(int fd, int nstype);
}
