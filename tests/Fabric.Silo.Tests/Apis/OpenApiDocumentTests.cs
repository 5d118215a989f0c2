using System.Net;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace Fabric.Silo.Tests.Apis;

/// <summary>
/// Issue 13 §3: the OpenAPI 3.1 document of the real silo host lists every mapped <c>/v1</c> route with its methods,
/// parses without errors, declares the admin bearer scheme on every operation but the public bundle, and the reference
/// page is served. Read anonymously: the documents describe the API, they are not behind the token.
/// </summary>
[Collection(SiloApiCollection.Name)]
public sealed class OpenApiDocumentTests(SiloApiFixture fixture)
{
    private async Task<(OpenApiDocument Document, string Json)> LoadAsync()
    {
        using var response = await fixture.Anonymous.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await response.Content.ReadAsStringAsync();
        var result = OpenApiDocument.Parse(json, "json", new OpenApiReaderSettings());
        Assert.Empty(result.Diagnostic?.Errors ?? []);
        return (result.Document!, json);
    }

    [Fact]
    public async Task The_document_is_valid_openapi_3_1_and_holds_every_v1_route()
    {
        var (document, json) = await LoadAsync();
        Assert.Contains("\"openapi\": \"3.1", json, StringComparison.Ordinal);
        Assert.Empty(document.Validate(ValidationRuleSet.GetDefaultRuleSet()) ?? []);

        var routes = fixture.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/v1/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (Method: m, Path: Normalize(e.RoutePattern.RawText!))))
            .ToList();
        Assert.NotEmpty(routes);
        var documented = document.Paths.SelectMany(p => (p.Value.Operations ?? []).Select(o => (Method: o.Key.ToString().ToUpperInvariant(), Path: Normalize(p.Key)))).ToHashSet();
        Assert.All(routes, r => Assert.True(documented.Contains(r), $"{r.Method} {r.Path} is not in the document"));
        Assert.Equal(routes.Count, documented.Count);
    }

    [Fact]
    public async Task Every_operation_but_the_bundle_needs_the_admin_token()
    {
        var (document, _) = await LoadAsync();
        var scheme = Assert.Contains(Fabric.Silo.Apis.OpenApiDocs.SchemeName, document.Components!.SecuritySchemes!);
        Assert.Equal(SecuritySchemeType.Http, scheme.Type);
        Assert.Equal("bearer", scheme.Scheme);
        foreach (var (path, item) in document.Paths)
        {
            foreach (var (method, operation) in item.Operations ?? [])
            {
                var secured = operation.Security is { Count: > 0 };
                Assert.True(secured == (path != "/v1/bundle"), $"{method} {path}: secured={secured}");
            }
        }
    }

    [Fact]
    public async Task Validation_errors_are_documented_as_problem_details()
    {
        var (document, _) = await LoadAsync();
        var put = document.Paths["/v1/policies/{name}"].Operations![HttpMethod.Put];
        Assert.Contains("400", put.Responses!.Keys);
    }

    [Fact]
    public async Task The_reference_page_is_served()
    {
        using var response = await fixture.Anonymous.GetAsync("/scalar/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("text/html", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
    }

    /// <summary>Route templates and OpenAPI paths spell parameters differently (<c>{**tool}</c>, <c>{id}:approve</c>): compare shapes.</summary>
    private static string Normalize(string path) =>
        System.Text.RegularExpressions.Regex.Replace(path.TrimEnd('/'), @"\{\*{0,2}([A-Za-z]+)(:[^}]*)?\}", "{$1}");
}
