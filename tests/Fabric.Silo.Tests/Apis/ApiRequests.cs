using System.Net;
using System.Text;
using System.Text.Json;

namespace Fabric.Silo.Tests.Apis;

/// <summary>Request building and RFC 7807 problem reading shared by the management API tests.</summary>
internal static class ApiRequests
{
    public static HttpRequestMessage Request(string method, string path, string? body)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        return request;
    }

    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement.Clone();
        Assert.Equal((int)status, root.GetProperty("status").GetInt32());
        Assert.True(root.TryGetProperty("title", out _), text);
        return root;
    }

    /// <summary>Asserts a 400 validation problem with an error for <paramref name="field"/> and returns its messages.</summary>
    public static async Task<string[]> FieldErrorAsync(HttpResponseMessage response, string field)
    {
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var messages), $"expected an error for '{field}' in {errors}");
        Assert.NotEqual(0, messages.GetArrayLength());
        return [.. messages.EnumerateArray().Select(m => m.GetString() ?? "")];
    }
}
