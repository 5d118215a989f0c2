using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Apis;

/// <summary>
/// Reads a JSON request body, bounded, and turns every way it can be wrong into a 400 problem
/// naming the field (the JSON path of the offending value) or a 413, instead of a bare exception.
/// The two refusals are typed, so a handler returns each as a case of its <c>Results&lt;…&gt;</c> union.
/// </summary>
internal static class ApiBody
{
    public const long MaxBytes = 1024 * 1024;

    public static async Task<BodyRead<T>> ReadAsync<T>(HttpContext context) where T : class
    {
        if (context.Request.ContentLength > MaxBytes)
        {
            return new(null, null, TooLarge());
        }
        if (!context.Request.HasJsonContentType())
        {
            return new(null, Field("body", "the body must be JSON (Content-Type: application/json)"), null);
        }
        var options = context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        try
        {
            // Buffered (at most MaxBytes) so the duplicate-name pass and the deserializer read the same bytes.
            using var bounded = new BoundedStream(context.Request.Body, MaxBytes);
            using var buffer = new MemoryStream();
            await bounded.CopyToAsync(buffer, context.RequestAborted);
            var json = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
            if (JsonDuplicateNames.Find(json) is { } duplicate)
            {
                return new(null, Field(duplicate.Length == 0 ? "body" : duplicate, "duplicate name: each name may appear once per object (RFC 8259 §4)"), null);
            }
            var value = JsonSerializer.Deserialize<T>(json, options);
            return value is null ? new(null, Field("body", "a JSON object is required"), null) : new(value, null, null);
        }
        catch (BoundedStream.LimitExceededException)
        {
            return new(null, null, TooLarge());
        }
        catch (JsonException ex)
        {
            var path = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "body" : ex.Path.TrimStart('$', '.');
            return new(null, Field(path, "the value is not valid here: " + FirstSentence(ex.Message)), null);
        }
    }

    /// <summary>
    /// The whole of a definition PUT: read the body, validate it (field errors → 400), store it through the grain
    /// (which runs the same validator: should the two ever disagree it is a 400, never a 500) and answer what was stored.
    /// <paramref name="prepare"/> runs first, once the body is read, to fetch what validation needs from the cluster.
    /// </summary>
    public static async Task<Results<Ok<TStored>, ValidationProblem, ProblemHttpResult>> PutAsync<TInput, TStored>(
        HttpContext context, Func<TInput, IReadOnlyDictionary<string, string[]>> validate, Func<TInput, Task<TStored>> store,
        Func<TInput, Task>? prepare = null) where TInput : class
    {
        var (body, invalid, tooLarge) = await ReadAsync<TInput>(context);
        if (tooLarge is not null)
        {
            return tooLarge;
        }
        if (invalid is not null)
        {
            return invalid;
        }
        if (prepare is not null)
        {
            // What validation needs from the cluster (e.g. whether declared values hold a stored secret).
            await prepare(body!);
        }
        var errors = validate(body!);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }
        try
        {
            return TypedResults.Ok(await store(body!));
        }
        catch (ArgumentException ex)
        {
            return Field("body", ex.Message);
        }
    }

    /// <summary>A refusal as problem details with its stable <c>reason</c> code (and any further members).</summary>
    public static ProblemHttpResult Refusal(int status, string reason, string detail, string? title = null, IEnumerable<KeyValuePair<string, object?>>? more = null) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title,
            extensions: new Dictionary<string, object?>([new("reason", reason), .. more ?? []]));

    public static ValidationProblem Field(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });

    private static ProblemHttpResult TooLarge() =>
        TypedResults.Problem(detail: $"the body exceeds {MaxBytes} bytes", statusCode: StatusCodes.Status413PayloadTooLarge);

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message : message[..(end + 1)];
    }
}

/// <summary>
/// What <see cref="ApiBody.ReadAsync{T}"/> read: the value, or exactly one refusal — a 400 naming the field
/// (<paramref name="Invalid"/>) or a 413 (<paramref name="TooLarge"/>).
/// </summary>
internal readonly record struct BodyRead<T>(T? Value, ValidationProblem? Invalid, ProblemHttpResult? TooLarge) where T : class;
