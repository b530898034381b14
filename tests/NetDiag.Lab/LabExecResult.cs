namespace NetDiag.Lab;

/// <summary>The outcome of a command run by the lab: exit code and captured output.</summary>
public readonly record struct LabExecResult(int ExitCode, string StdOut, string StdErr)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>Throws <see cref="LabException"/> with the output when the command failed.</summary>
    public LabExecResult EnsureSuccess(string what)
    {
        if (ExitCode != 0)
            throw new LabException($"{what} failed (exit {ExitCode}).\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}");
        return this;
    }

    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}";
}

/// <summary>The lab could not be built, changed or torn down.</summary>
public sealed class LabException(string message) : Exception(message);
