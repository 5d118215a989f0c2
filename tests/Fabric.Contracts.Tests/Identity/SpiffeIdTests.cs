using System.Text.RegularExpressions;
using CsCheck;
using Fabric.Contracts.Identity;

namespace Fabric.Contracts.Tests.Identity;

/// <summary>The SPIFFE ID rules of spiffe/spiffe standards/SPIFFE-ID.md §2, row by row.</summary>
public sealed partial class SpiffeIdTests
{
    private const string Prefix = "spiffe://example.org/";

    public static TheoryData<string, string, string> ValidIds => new()
    {
        { "spiffe://example.org/workload", "example.org", "/workload" },
        { "spiffe://example.org/ns/prod/sa/web-fe", "example.org", "/ns/prod/sa/web-fe" },
        { "spiffe://a.b-c_d.0/Mixed_Case-1.x", "a.b-c_d.0", "/Mixed_Case-1.x" },      // §2.2: path is case-sensitive
        { "spiffe://example.org/.hidden/...", "example.org", "/.hidden/..." },          // only '.' and '..' are banned
        { "spiffe://1.2.3.4/x", "1.2.3.4", "/x" },                                    // §2.1: IPv4-looking names are names
        { "spiffe://example.org", "example.org", "" },                                  // the trust domain's own ID
        { Prefix + new string('a', SpiffeId.MaxLength - Prefix.Length), "example.org", "/" + new string('a', SpiffeId.MaxLength - Prefix.Length) },
    };

    public static TheoryData<string?, string> InvalidIds => new()
    {
        { null, "required" },
        { "", "required" },
        { "SPIFFE://example.org/x", "lower-case 'spiffe'" },                             // §2.1 scheme as written by us
        { "Spiffe://example.org/x", "lower-case 'spiffe'" },
        { "https://example.org/x", "scheme" },
        { "spiffe:/example.org/x", "scheme" },
        { "spiffe:example.org", "scheme" },
        { " spiffe://example.org/x", "scheme" },
        { "spiffe://", "trust domain is missing" },                                     // §2.1 host MUST NOT be empty
        { "spiffe:///x", "trust domain is missing" },
        { "spiffe://Example.org/x", "lower-case" },                                     // §2.1 host MUST be lowercase
        { "spiffe://example.org:443/x", "port" },                                       // §2.1 no port, no ':'
        { "spiffe://example.org:/x", "port" },
        { "spiffe://user@example.org/x", "userinfo" },                                  // §2.1 no userinfo
        { "spiffe://example.org/x?y=1", "query" },                                      // §2 no query or fragment
        { "spiffe://example.org/x#y", "query or fragment" },
        { "spiffe://example.org?x", "invalid character '?'" },
        { "spiffe://example.org/x%41", "percent-encoded" },                             // §2.2 no percent-encoding
        { "spiffe://ex%41mple.org/x", "invalid character '%'" },                        // §2.1 likewise in the host
        { "spiffe://example.org//x", "empty segments" },                                // §2.2 no empty segments
        { "spiffe://example.org/x//y", "empty segments" },
        { "spiffe://example.org/./x", "'.' or '..'" },                                  // §2.2 no relative segments
        { "spiffe://example.org/x/..", "'.' or '..'" },
        { "spiffe://example.org/", "must not end with '/'" },                           // §2.2 no trailing '/'
        { "spiffe://example.org/x/", "must not end with '/'" },
        { "spiffe://example.org/x y", "invalid character ' '" },                        // §2.2 [a-zA-Z0-9.-_] only
        { "spiffe://example.org/caf\u00e9", "invalid character '\\u00e9'" },
        { "spiffe://example.org/x\n", "invalid character '\\u000a'" },
        { "spiffe://exa mple.org/x", "invalid character ' '" },                         // §2.1 [a-z0-9.-_] only
        { "spiffe://[::1]/x", "invalid character '['" },                                // §2.1 excludes IPv6
        { "spiffe://example.org/x+y", "invalid character '+'" },
        { Prefix + new string('a', SpiffeId.MaxLength - Prefix.Length + 1), "at most 2048 bytes" }, // §2.3
    };

    [Theory]
    [MemberData(nameof(ValidIds))]
    public void TryParse_valid_id_yields_its_trust_domain_and_path(string value, string trustDomain, string path)
    {
        Assert.True(SpiffeId.TryParse(value, out var id, out var error), error);
        Assert.Equal(trustDomain, id.TrustDomain);
        Assert.Equal(path, id.Path);
        Assert.Equal(value, id.ToString());
        Assert.Equal(path.Length > 0, id.IsWorkload);
    }

    [Theory]
    [MemberData(nameof(InvalidIds))]
    public void TryParse_invalid_id_fails_with_a_reason_naming_the_rule(string? value, string reason)
    {
        Assert.False(SpiffeId.TryParse(value, out var id, out var error));
        Assert.Null(id);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => SpiffeId.Parse(value!));
    }

    [Theory]
    [InlineData("spiffe://example.org/fabric", true)]
    [InlineData("spiffe://example.org/fabric/edge/e1", true)]
    [InlineData("spiffe://other.example/fabric/silo/s1", true)]
    [InlineData("spiffe://example.org/fabricx", false)]
    [InlineData("spiffe://example.org/Fabric/edge/e1", false)]
    [InlineData("spiffe://example.org/agents/fabric", false)]
    [InlineData("spiffe://example.org", false)]
    public void The_fabric_path_is_reserved_in_every_trust_domain(string value, bool reserved) =>
        Assert.Equal(reserved, SpiffeId.Parse(value).IsReserved);

    [Fact]
    public void Root_id_is_valid_but_not_a_workload()
    {
        var id = SpiffeId.Parse("spiffe://example.org");

        Assert.False(id.IsWorkload);
        Assert.Equal(id, SpiffeId.FromParts("example.org", ""));
    }

    [Fact]
    public void FromParts_and_Parse_agree_and_compare_by_value()
    {
        Assert.Equal(SpiffeId.Parse("spiffe://example.org/a/b"), SpiffeId.FromParts("example.org", "a/b"));
        Assert.NotEqual(SpiffeId.Parse("spiffe://example.org/a/b"), SpiffeId.Parse("spiffe://example.org/a/B"));
    }

    /// <summary>
    /// TryParse agrees with a model written straight from SPIFFE-ID §2: scheme <c>spiffe://</c>, a
    /// non-empty host of [a-z0-9._-], then zero or more '/'-segments of [a-zA-Z0-9._-] that are not
    /// '.' or '..', nothing else, and at most 2048 bytes (§2.3, all ASCII so chars = bytes).
    /// </summary>
    [Fact]
    public void TryParse_agrees_with_a_regex_model_of_the_spec()
    {
        Gen.Frequency((8, StructuredCandidates), (1, NoiseCandidates), (1, LengthBoundaryCandidates))
            .Sample(value =>
            {
                var expected = SpecModel().IsMatch(value) && value.Length <= SpiffeId.MaxLength;
                var actual = SpiffeId.TryParse(value, out var id, out var error);
                if (actual != expected)
                {
                    return false;
                }
                return !actual || (id!.ToString() == value && SpiffeId.Parse(value) == id && error is null);
            }, iter: 20_000, print: v => $"\"{v}\" ({v.Length} chars)");
    }

    [GeneratedRegex(@"\Aspiffe://[a-z0-9._-]+(/(?!\.\.?(/|\z))[a-zA-Z0-9._-]+)*\z", RegexOptions.CultureInvariant)]
    private static partial Regex SpecModel();

    // Mostly well-formed parts with one rule broken now and then, so every rule gets exercised:
    // case, ':', '@', '%', '?', '#', empty / '.' / '..' segments, space, non-ASCII and '+'.
    private static readonly Gen<string> TrustDomainPart = Gen.Frequency(
        (5, Gen.Char["az09._-"].Array[1, 6].Select(c => new string(c))),
        (1, Gen.Char["az09._-A:@%?#"].Array[0, 6].Select(c => new string(c))));

    private static readonly Gen<string> Segment = Gen.Frequency(
        (6, Gen.Char["azAZ09._-"].Array[1, 4].Select(c => new string(c))),
        (1, Gen.Char["aZ09._-%?# \u00e9+"].Array[0, 4].Select(c => new string(c))),
        (1, Gen.OneOf(".", "..", "...", "")));

    private static readonly Gen<string> StructuredCandidates =
        Gen.Select(
            Gen.Frequency((12, Gen.Const("spiffe://")), (1, Gen.OneOf("SPIFFE://", "spiffe:/", "spiffe:", ""))),
            TrustDomainPart,
            Segment.Array[0, 4],
            Gen.Frequency((12, Gen.Const("")), (1, Gen.OneOf("/", "?q", "#f", ":1", "\n"))),
            (scheme, td, segments, tail) => scheme + td + string.Concat(segments.Select(s => "/" + s)) + tail);

    private static readonly Gen<string> NoiseCandidates =
        Gen.Char["spife:/aZ.-_%?#@ 0"].Array[0, 24].Select(c => new string(c));

    private static readonly Gen<string> LengthBoundaryCandidates =
        Gen.Int[SpiffeId.MaxLength - 3, SpiffeId.MaxLength + 3]
            .Select(length => Prefix + new string('x', length - Prefix.Length));
}
