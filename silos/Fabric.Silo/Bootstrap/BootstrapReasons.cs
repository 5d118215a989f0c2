namespace Fabric.Silo.Bootstrap;

/// <summary>The stable reason codes of the bootstrap endpoint's refusals (problem details, <c>reason</c>).</summary>
public static class BootstrapReasons
{
    public const string UnknownToken = "join-token-unknown";
    public const string TokenUsed = "join-token-used";
    public const string TokenExpired = "join-token-expired";
    public const string TokenRevoked = "join-token-revoked";
    public const string WrongEdge = "join-token-wrong-edge";
    public const string EdgeRevoked = "edge-revoked";
    public const string UnknownEdge = "edge-unknown";
    public const string NotAnEdge = "not-an-edge";
    public const string InvalidRequest = "invalid-request";

    public static string Of(EdgeAdmission admission) => admission switch
    {
        EdgeAdmission.UnknownToken => UnknownToken,
        EdgeAdmission.TokenUsed => TokenUsed,
        EdgeAdmission.TokenExpired => TokenExpired,
        EdgeAdmission.TokenRevoked => TokenRevoked,
        EdgeAdmission.WrongEdge => WrongEdge,
        EdgeAdmission.EdgeRevoked => EdgeRevoked,
        EdgeAdmission.UnknownEdge => UnknownEdge,
        _ => throw new ArgumentOutOfRangeException(nameof(admission), admission, "not a refusal"),
    };

    public static string Describe(EdgeAdmission admission) => admission switch
    {
        EdgeAdmission.UnknownToken => "the join token is not known to this cluster",
        EdgeAdmission.TokenUsed => "the join token was already used; each token admits one edge once",
        EdgeAdmission.TokenExpired => "the join token has expired",
        EdgeAdmission.TokenRevoked => "the join token was revoked",
        EdgeAdmission.WrongEdge => "the join token was made for another edge name",
        EdgeAdmission.EdgeRevoked => "this edge name is revoked",
        EdgeAdmission.UnknownEdge => "this edge never joined",
        _ => admission.ToString(),
    };
}
