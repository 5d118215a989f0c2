using System.Globalization;

namespace Fabric.Contracts.Policy;

/// <summary>
/// A budget on an allow rule (issue 12 §4): at most <see cref="Calls"/> tool calls per window of <see cref="Per"/>
/// (<c>"30s"</c>, <c>"1m"</c>, <c>"1h"</c>, <c>"1d"</c>: a positive integer and one unit), per calling identity and
/// server, and per tool too when the rule names tools. Windows are fixed, aligned to multiples of their length since
/// the Unix epoch (so every edge and silo agrees where one ends).
/// </summary>
[GenerateSerializer, Immutable, Alias("fabric.call-limit")]
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
public sealed record CallLimit(
    [property: Id(0)] int Calls,
    [property: Id(1)] string Per)
{
    public const int MaxCalls = 1_000_000_000;
    public static readonly TimeSpan MinWindow = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(7);

    /// <summary>The window length; <see cref="TimeSpan.Zero"/> when <see cref="Per"/> is not a valid one.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public TimeSpan Window => TryParseWindow(Per, out var window) ? window : TimeSpan.Zero;

    /// <summary><c>&lt;n&gt;s|m|h|d</c> with 1 ≤ n, between <see cref="MinWindow"/> and <see cref="MaxWindow"/>.</summary>
    public static bool TryParseWindow(string? per, out TimeSpan window)
    {
        window = TimeSpan.Zero;
        // NumberStyles.None: digits only (no sign, spaces, separators).
        if (per is not { Length: >= 2 and <= 8 }
            || !long.TryParse(per.AsSpan(0, per.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
        {
            return false;
        }
        var unit = per[^1] switch { 's' => TimeSpan.FromSeconds(1), 'm' => TimeSpan.FromMinutes(1), 'h' => TimeSpan.FromHours(1), 'd' => TimeSpan.FromDays(1), _ => TimeSpan.Zero };
        if (unit == TimeSpan.Zero || n > MaxWindow.Ticks / unit.Ticks)
        {
            return false;
        }
        window = unit * n;
        return window >= MinWindow && window <= MaxWindow;
    }

    /// <summary>The start of the window holding <paramref name="now"/>.</summary>
    public static DateTimeOffset WindowStart(DateTimeOffset now, TimeSpan window) =>
        new(now.UtcTicks - (now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) % window.Ticks, TimeSpan.Zero);
}

/// <summary>One budget a call is charged to: the rule that carries the limit, and the grain key of the budget.</summary>
public sealed record BudgetCharge(GrantedRule Rule, CallLimit Limit, string Key);
