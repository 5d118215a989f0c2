namespace Fabric.Edge.Launch;

/// <summary>Why a launched server could not answer: a reason code of the refusal table and what the operator should know.</summary>
internal sealed class LaunchException(string reason, string detail) : Exception(detail)
{
    public string Reason { get; } = reason;
}
