using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Fabric.Edge.Tests.EndToEnd;
using Fabric.Edge.Tests.Fixtures;
using Microsoft.Playwright;
using ModelContextProtocol.Client;

namespace Fabric.Edge.Tests.Console;

/// <summary>
/// The web console (issue 13 §4) in a real browser: sign-in, a policy refused with the API's field error shown inline
/// then fixed, a workload disabled and its next call seen denied in the live stream, and a screenshot of every page.
/// </summary>
[Collection(FabricCollection.Name)]
public sealed class ConsoleBrowserTests(FabricFixture fabric) : IAsyncLifetime
{
    private static readonly string[] Pages = ["", "workloads", "servers", "policies", "live", "audit", "approvals", "posture"];
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync() => (_playwright, _browser) = await ConsoleBrowser.LaunchAsync();

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }

    private string Url(string path) => new Uri(fabric.ApiUrl, path).ToString();

    private async Task<IPage> SignedInAsync(IBrowserContext context)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync(Url("/console"));
        await page.FillAsync("#token", FabricFixture.AdminToken);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync(Url("/console"));
        return page;
    }

    /// <summary>A fresh agent allowed <c>echo</c>, which has called it once, that call audited at the cluster.</summary>
    private async Task<Scenario> AgentThatCalledOnceAsync()
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [new { server = s, effect = "allow", tools = new[] { "echo" } }]);
        await using (var agent = await scenario.ConnectAsync(ProtocolGeneration.Stateless2026))
        {
            await agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "first" });
        }
        await fabric.FlushAuditAsync();
        return scenario;
    }

    [Fact]
    public async Task Sign_in_takes_the_admin_token_in_a_form_and_holds_it_only_in_an_HttpOnly_SameSite_Strict_cookie()
    {
        await using var context = await _browser.NewContextAsync();
        var page = await context.NewPageAsync();

        // A page of the console sends the browser to the sign-in form, remembering where it was going.
        await page.GotoAsync(Url("/console/policies"));
        Assert.StartsWith(Url("/console/login"), page.Url, StringComparison.Ordinal);
        Assert.Contains("returnUrl=%2Fconsole%2Fpolicies", page.Url, StringComparison.Ordinal);

        // A wrong token is refused, and the form says so.
        await page.FillAsync("#token", "not-the-admin-token");
        var refused = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("button[type=submit]"), r => r.Request.Method == "POST");
        Assert.Equal(401, refused.Status);
        await Assertions.Expect(page.GetByTestId("login-error")).ToBeVisibleAsync();
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == "fabric-console");

        await page.FillAsync("#token", FabricFixture.AdminToken);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync(Url("/console/policies"));
        await Assertions.Expect(page.GetByText("Editor")).ToBeVisibleAsync();

        var cookie = Assert.Single(await context.CookiesAsync(), c => c.Name == "fabric-console");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.DoesNotContain(FabricFixture.AdminToken, cookie.Value, StringComparison.Ordinal); // encrypted ticket, not the token
        Assert.DoesNotContain(FabricFixture.AdminToken, page.Url, StringComparison.Ordinal);
        Assert.DoesNotContain(FabricFixture.AdminToken, await page.ContentAsync(), StringComparison.Ordinal);

        // Signing out clears it: the console asks for the token again.
        await page.GotoAsync(Url("/console/logout"));
        await page.ClickAsync("[data-testid=confirm-sign-out]");
        await page.WaitForURLAsync(Url("/console/login"));
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == "fabric-console");
        await page.GotoAsync(Url("/console"));
        Assert.StartsWith(Url("/console/login"), page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_policy_the_API_refuses_shows_its_field_error_inline_and_saves_once_fixed()
    {
        await using var context = await _browser.NewContextAsync();
        var page = await SignedInAsync(context);
        await page.GotoAsync(Url("/console/policies"));
        var name = FabricFixture.Unique("console-pol");
        var agent = $"spiffe://{FabricFixture.TrustDomain}/agents/{FabricFixture.Unique("agent")}";
        var server = FabricFixture.Unique("srv");
        await fabric.PutAsync($"/v1/servers/{server}", new { upstream = fabric.Upstream.Endpoint.ToString() });

        await page.ClickAsync("[data-testid=new-policy]");
        await Assertions.Expect(page.GetByTestId("policy-body")).ToHaveValueAsync(new System.Text.RegularExpressions.Regex("subjects"));
        await page.FillAsync("[data-testid=policy-name]", name);
        await page.FillAsync("[data-testid=policy-body]", $$"""{ "subjects": ["{{agent}}"], "rules": [ { "server": "{{server}}", "effect": "maybe" } ] }""");
        await page.ClickAsync("[data-testid=save-policy]");

        var error = page.GetByTestId("field-error");
        await Assertions.Expect(error.First).ToBeVisibleAsync();
        Assert.Contains("effect", await error.First.InnerTextAsync(), StringComparison.OrdinalIgnoreCase);
        using (var missing = await fabric.Admin.GetAsync($"/v1/policies/{name}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        await page.FillAsync("[data-testid=policy-body]", $$"""{ "subjects": ["{{agent}}"], "rules": [ { "server": "{{server}}", "effect": "allow", "tools": ["search"] } ] }""");
        await page.ClickAsync("[data-testid=save-policy]");
        await Assertions.Expect(page.GetByTestId("saved")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("field-error")).ToHaveCountAsync(0);
        using var saved = await fabric.Admin.GetAsync($"/v1/policies/{name}");
        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
        var rule = (await saved.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("rules")[0];
        Assert.Equal("search", rule.GetProperty("tools")[0].GetString());

        // The what-if decides under what was just saved.
        await page.FillAsync("[data-testid=whatif-workload]", agent);
        await page.FillAsync("[data-testid=whatif-server]", server);
        await page.FillAsync("[data-testid=whatif-name]", "search");
        await page.ClickAsync("[data-testid=decide]");
        await Assertions.Expect(page.Locator("[data-testid=decision] [data-decision=allow]")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("decision")).ToContainTextAsync(name);
    }

    [Fact]
    public async Task Disabling_a_workload_in_the_console_shows_its_next_call_denied_in_the_live_stream_within_2_s()
    {
        var scenario = await AgentThatCalledOnceAsync();

        await using var context = await _browser.NewContextAsync();
        var page = await SignedInAsync(context);
        await page.GotoAsync(Url("/console/workloads"));
        var row = page.Locator($"tr[data-workload='{scenario.Agent}']");
        await Assertions.Expect(row).ToContainTextAsync("enabled");
        await row.Locator("[data-testid=toggle]").ClickAsync();
        await Assertions.Expect(row).ToContainTextAsync("disabled");

        await page.GotoAsync(Url("/console/live"));
        await Assertions.Expect(page.Locator($"#live-filter")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator($"[data-testid=live] tr[data-workload='{scenario.Agent}'][data-decision=allow]").First).ToBeVisibleAsync();

        // Its next message (the client's first, discovery) is refused.
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => scenario.ConnectAsync(ProtocolGeneration.Stateless2026));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        // From the agent's refusal to the row on screen: the edge ships the record, the page asks twice a second.
        var denied = page.Locator($"[data-testid=live] tr[data-workload='{scenario.Agent}'][data-decision=deny]").First;
        await Assertions.Expect(denied).ToBeVisibleAsync(new() { Timeout = 2000 });
        Assert.Equal("workload-disabled", await denied.GetAttributeAsync("data-reason"));
    }

    [Fact]
    public async Task Every_page_renders_with_its_data_and_without_a_secret_and_is_saved_as_a_screenshot()
    {
        var scenario = await AgentThatCalledOnceAsync();

        await using var context = await _browser.NewContextAsync(new() { ViewportSize = new() { Width = 1440, Height = 1000 } });
        var page = await SignedInAsync(context);
        var consoleErrors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                consoleErrors.Add(message.Text);
            }
        };
        foreach (var name in Pages)
        {
            await page.GotoAsync(Url("/console/" + name));
            await Assertions.Expect(page.Locator("h5").First).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("[data-testid=problem]")).ToHaveCountAsync(0);
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            await page.ScreenshotAsync(new() { Path = Path.Combine(ConsoleBrowser.ScreenshotDirectory, (name == "" ? "overview" : name) + ".png"), FullPage = true });
            var html = await page.ContentAsync();
            Assert.DoesNotContain(scenario.SecretValue, html, StringComparison.Ordinal);
            Assert.DoesNotContain(FabricFixture.AdminToken, html, StringComparison.Ordinal);
        }
        Assert.Empty(consoleErrors); // the CSP lets everything the console needs load, and nothing else was tried

        // The pages show the fabric's real state.
        await page.GotoAsync(Url("/console/workloads"));
        await Assertions.Expect(page.Locator($"tr[data-workload='{scenario.Agent}']")).ToBeVisibleAsync();
        await page.GotoAsync(Url("/console/servers"));
        await page.ClickAsync($"[data-server='{scenario.Server}']");
        await Assertions.Expect(page.GetByTestId("definition")).ToContainTextAsync(scenario.Server);
        Assert.DoesNotContain(scenario.SecretValue, await page.ContentAsync(), StringComparison.Ordinal);
        await page.GotoAsync(Url("/console"));
        await Assertions.Expect(page.GetByTestId("silos")).ToContainTextAsync("Active");
    }
}
