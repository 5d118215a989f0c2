using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace Fabric.Silo.Apis;

/// <summary>
/// The management API's OpenAPI 3.1 document (issue 13 §3), generated from the mapped endpoints, at
/// <c>/openapi/v1.json</c>, and its reference page (Scalar) at <c>/scalar</c>. Every operation that needs the admin
/// token says so (the <c>admin</c> HTTP bearer scheme); the public trust bundle does not. Both pages are public: they
/// describe the API, they reveal nothing of its state.
/// </summary>
public static class OpenApiDocs
{
    public const string DocumentPath = "/openapi/{documentName}.json";
    public const string SchemeName = "admin";

    public static WebApplicationBuilder AddFabricOpenApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenApi("v1", options =>
        {
            options.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1;
            options.ShouldInclude = description => description.RelativePath?.StartsWith("v1/", StringComparison.Ordinal) == true;
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Fabric management API",
                    Version = "v1",
                    Description = "Servers, policies, secrets, workloads, approvals, audit and the identity plane of a Fabric cluster. "
                        + "Every operation but the trust bundle needs the admin token as a bearer token. Errors are RFC 9457 problem details.",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[SchemeName] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "The admin token (FABRIC_ADMIN_TOKEN, or the token file the silo writes at first start).",
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<IAuthorizeData>().Any())
                {
                    operation.Security ??= [];
                    operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeName, context.Document)] = [] });
                }
                return Task.CompletedTask;
            });
        });
        return builder;
    }

    public static WebApplication MapFabricOpenApi(this WebApplication app)
    {
        app.MapOpenApi(DocumentPath);
        app.MapScalarApiReference("/scalar", options => options.WithTitle("Fabric management API").WithOpenApiRoutePattern(DocumentPath));
        return app;
    }
}
