using System.Net;
using System.Text.RegularExpressions;
using Fabric.Silo.Console;
using Fabric.Silo.Tests.Apis;

namespace Fabric.Silo.Tests.Console;

/// <summary>
/// The console's door, tried as an attacker would, over plain HTTP: no page, circuit or dashboard without the cookie; a
/// sign-in form that wants its antiforgery token and the real admin token; a cookie that opens the console but never
/// the management API (so a forged cross-site request to <c>/v1</c> carries nothing); no open redirect after sign-in.
/// </summary>
[Collection(SiloApiCollection.Name)]
public sealed partial class ConsoleAccessTests(SiloApiFixture fixture)
{
    private HttpClient Browser(CookieContainer? cookies = null) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = cookies ?? new CookieContainer(), UseCookies = true }) { BaseAddress = fixture.ApiUrl };

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();

    /// <summary>GETs the sign-in form and posts <paramref name="token"/> with the form's antiforgery token (unless told not to).</summary>
    private static async Task<HttpResponseMessage> SignInAsync(HttpClient browser, string token, string returnUrl = "", bool withAntiforgery = true)
    {
        var path = "/console/login" + (returnUrl.Length > 0 ? "?returnUrl=" + Uri.EscapeDataString(returnUrl) : "");
        var form = await browser.GetStringAsync(path);
        var fields = new List<KeyValuePair<string, string>> { new("_handler", "login"), new("Input.Token", token) };
        if (withAntiforgery)
        {
            fields.Add(new("__RequestVerificationToken", AntiforgeryField().Match(form).Groups[1].Value));
        }
        return await browser.PostAsync(path, new FormUrlEncodedContent(fields));
    }

    /// <summary>Where a redirect sends the browser, resolved as a browser would; it must stay on this host.</summary>
    private string Target(HttpResponseMessage response)
    {
        var target = new Uri(fixture.ApiUrl, response.Headers.Location!);
        Assert.Equal(fixture.ApiUrl.Authority, target.Authority);
        return target.PathAndQuery;
    }

    private static bool SetsConsoleCookie(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith(ConsoleHosting.CookieName + "=", StringComparison.Ordinal) && !c.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase));

    [Theory]
    [InlineData("/console")]
    [InlineData("/console/workloads")]
    [InlineData("/console/policies")]
    [InlineData("/dashboard")]
    [InlineData("/dashboard/")]
    public async Task Without_the_cookie_every_page_sends_the_browser_to_sign_in(string path)
    {
        using var browser = Browser();
        using var response = await browser.GetAsync(path);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/console/login?returnUrl=", Target(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_the_cookie_no_circuit_opens()
    {
        using var browser = Browser();
        using var response = await browser.PostAsync("/_blazor/negotiate?negotiateVersion=1", new StringContent(""));

        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.IsSuccessStatusCode);
    }

    [Fact]
    public async Task A_sign_in_post_without_its_antiforgery_token_is_refused_and_sets_no_cookie()
    {
        using var browser = Browser();
        using var response = await SignInAsync(browser, SiloApiFixture.AdminToken, withAntiforgery: false);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(SetsConsoleCookie(response));
    }

    [Theory]
    [InlineData("not-the-admin-token")]
    [InlineData("")]
    [InlineData("silo-api-admin-token-0123456789ABCDEF")] // odd casing is another token
    [InlineData("\uFFFDsilo-api-admin-token")]
    public async Task A_wrong_token_is_refused_with_401_and_sets_no_cookie(string token)
    {
        using var browser = Browser();
        using var response = await SignInAsync(browser, token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.False(SetsConsoleCookie(response));
        Assert.Contains("That is not the admin token", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_with_a_NUL_is_refused_before_it_is_compared_and_sets_no_cookie()
    {
        using var browser = Browser();
        using var response = await SignInAsync(browser, "silo-api-admin-token\u0000");

        // The framework's form binding refuses it (400); never a 500, never a cookie.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(SetsConsoleCookie(response));
    }

    [Fact]
    public async Task A_huge_token_is_refused_not_a_500()
    {
        using var browser = Browser();
        using var response = await SignInAsync(browser, new string('a', 20_000));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task The_right_token_sets_an_HttpOnly_SameSite_Strict_cookie_that_opens_the_console_but_not_the_API()
    {
        var cookies = new CookieContainer();
        using var browser = Browser(cookies);
        using var signedIn = await SignInAsync(browser, SiloApiFixture.AdminToken);

        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal("/console", Target(signedIn));
        var setCookie = Assert.Single(signedIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith(ConsoleHosting.CookieName + "=", StringComparison.Ordinal));
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(SiloApiFixture.AdminToken, setCookie, StringComparison.Ordinal);

        using var page = await browser.GetAsync("/console");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain(SiloApiFixture.AdminToken, await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var dashboard = await browser.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);

        // The management API takes the bearer token only: the console's cookie, which a browser would attach to a
        // request a hostile page forges, authenticates nothing there.
        using var api = await browser.GetAsync("/v1/policies");
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        using var write = await browser.PutAsync("/v1/workloads/fabric.local/agents/x", new StringContent("""{"enabled":false}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, write.StatusCode);
    }

    [Fact]
    public async Task The_key_ring_that_seals_the_cookie_is_stored_encrypted_with_the_local_store_key()
    {
        using var browser = Browser();
        using var signedIn = await SignInAsync(browser, SiloApiFixture.AdminToken);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);

        var keys = Directory.GetFiles(Path.Combine(fixture.DataDirectory, "console-keys"), "*.xml");
        Assert.NotEmpty(keys);
        foreach (var key in keys)
        {
            var xml = await File.ReadAllTextAsync(key);
            Assert.Contains("<fabricEncryptedKey", xml, StringComparison.Ordinal);
            Assert.DoesNotContain("<masterKey", xml, StringComparison.Ordinal); // Data Protection's plaintext form
        }
        Assert.DoesNotContain(fixture.Logs.Lines, line => line.Contains("No XML encryptor configured", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_forged_cookie_opens_nothing()
    {
        var cookies = new CookieContainer();
        cookies.Add(fixture.ApiUrl, new Cookie(ConsoleHosting.CookieName, "CfDJ8" + new string('A', 200)));
        using var browser = Browser(cookies);

        using var response = await browser.GetAsync("/console");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
    }

    [Theory]
    [InlineData("//evil.example/console", "/console")]
    [InlineData("https://evil.example/console", "/console")]
    [InlineData("/\\evil.example", "/console")]
    [InlineData("/v1/policies", "/console")]
    [InlineData("/console/servers", "/console/servers")]
    public async Task After_sign_in_the_browser_goes_back_only_to_a_console_page(string returnUrl, string expected)
    {
        using var browser = Browser();
        using var response = await SignInAsync(browser, SiloApiFixture.AdminToken, returnUrl);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(expected, Target(response));
    }

    [Theory]
    [InlineData(null, "/console")]
    [InlineData("", "/console")]
    [InlineData("/console", "/console")]
    [InlineData("/console/audit?workload=x", "/console/audit?workload=x")]
    [InlineData("/dashboard/", "/dashboard/")]
    [InlineData("/consoleevil", "/console")]
    [InlineData("/console/login", "/console")]
    [InlineData("/console\r\nSet-Cookie: x=y", "/console")]
    [InlineData("///evil.example", "/console")]
    [InlineData("javascript:alert(1)", "/console")]
    public void The_return_url_is_a_console_path_or_the_overview(string? returnUrl, string expected) =>
        Assert.Equal(expected, ConsoleReturnUrl.Safe(returnUrl));
}
