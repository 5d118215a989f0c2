using System.Diagnostics;
using System.Text.RegularExpressions;
using CsCheck;
using Fabric.Contracts.Policy;

namespace Fabric.Contracts.Tests.Policy;

public class GlobTests
{
    public static TheoryData<string, string, bool> Rows => new()
    {
        { "", "", true },
        { "", "a", false },
        { "*", "", true },
        { "*", "anything at all", true },
        { "?", "", false },
        { "?", "a", true },
        { "?", "ab", false },
        { "read_file", "read_file", true },
        { "read_file", "read_files", false },
        { "read_file", "Read_file", false },          // case-sensitive
        { "read_*", "read_", true },                  // '*' may be empty
        { "read_*", "read_file", true },
        { "read_*", "xread_file", false },            // whole-string: anchored at the start
        { "*_file", "read_file", true },
        { "*_file", "read_file2", false },            // anchored at the end
        { "a*b*c", "abc", true },
        { "a*b*c", "axxbyyc", true },
        { "a*b*c", "axxbyy", false },
        { "a*b", "abab", true },                      // needs the star to widen past a false start
        { "a*ab", "aab", true },
        { "*a*", "bab", true },
        { "**", "x", true },
        { "?*", "", false },
        { "*?", "x", true },
        { "file:///docs/*", "file:///docs/a/b.md", true },
        { "file:///docs/*.md", "file:///docs/a.txt", false },
        { "v?.?", "v1.2", true },
        { "v?.?", "v10.2", false },
        { "*", "*", true },
        { "a*", "b*", false },                        // '*' in the text is just a character
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Matches_the_table(string pattern, string text, bool expected) =>
        Assert.Equal(expected, Glob.IsMatch(pattern, text));

    [Theory]
    [MemberData(nameof(Rows))]
    public void Agrees_with_the_regex_model_on_the_table(string pattern, string text, bool expected)
    {
        Assert.Equal(expected, Model(pattern, text));
    }

    [Fact]
    public void Agrees_with_a_regex_model_on_random_patterns() =>
        Gen.Select(Gen.String[Gen.Char["ab*?"], 0, 8], Gen.String[Gen.Char["ab"], 0, 10])
            .Sample((pattern, text) => Glob.IsMatch(pattern, text) == Model(pattern, text), iter: 20_000);

    [Fact]
    public void Stays_fast_on_pathological_patterns()
    {
        // Exponential backtracking would never finish this; the two-pointer walk is O(n·m).
        var pattern = string.Concat(Enumerable.Repeat("a*", 200)) + "b";
        var text = new string('a', 5000);
        var watch = Stopwatch.StartNew();
        Assert.False(Glob.IsMatch(pattern, text));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}");
    }

    [Fact]
    public void Does_not_allocate() =>
        Assert.Equal(0, AllocatedBy(() => Glob.IsMatch("a*b?c*", "axxbycdd")));

    [Theory]
    [InlineData("tools", true)]
    [InlineData("tool*", false)]
    [InlineData("tool?", false)]
    public void Knows_literal_patterns(string pattern, bool literal) => Assert.Equal(literal, Glob.IsLiteral(pattern));

    private static long AllocatedBy(Func<bool> action)
    {
        action();
        var before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary>The obvious translation to a regex, anchored, every other character escaped.</summary>
    private static bool Model(string pattern, string text)
    {
        var regex = "^" + string.Concat(pattern.Select(c => c switch
        {
            '*' => ".*",
            '?' => ".",
            _ => Regex.Escape(c.ToString()),
        })) + @"\z";
        return Regex.IsMatch(text, regex, RegexOptions.Singleline | RegexOptions.CultureInvariant);
    }
}
