namespace Hutch.Cli.Doctor;

/// <summary>One host check of `hutch doctor`: what was found, and, when it failed, exactly what to do.</summary>
internal sealed record DoctorCheck(string Name, bool Ok, string Detail, string? Fix = null)
{
    public static DoctorCheck Pass(string name, string detail) => new(name, true, detail);

    public static DoctorCheck Fail(string name, string detail, string fix) => new(name, false, detail, fix);
}
