using Fabric.Contracts.Servers;

namespace Fabric.Contracts.Grains;

/// <summary>The keys of the cluster's singleton grains and typed shortcuts to them.</summary>
public static class FabricGrains
{
    public const string Default = "default";
    public const string LocalStore = "local";

    public static IInvalidationHubGrain Hub(this IGrainFactory grains) => grains.GetGrain<IInvalidationHubGrain>(Default);

    public static IPolicyCatalogGrain Catalog(this IGrainFactory grains) => grains.GetGrain<IPolicyCatalogGrain>(Default);

    public static IServerDirectoryGrain ServerDirectory(this IGrainFactory grains) => grains.GetGrain<IServerDirectoryGrain>(Default);

    public static IAuditGrain Audit(this IGrainFactory grains) => grains.GetGrain<IAuditGrain>(Default);

    public static ISecretStoreGrain LocalSecrets(this IGrainFactory grains) => grains.GetGrain<ISecretStoreGrain>(LocalStore);

    public static ILeaseDirectoryGrain Leases(this IGrainFactory grains) => grains.GetGrain<ILeaseDirectoryGrain>(Default);

    public static ICredentialLeaseGrain Lease(this IGrainFactory grains, string key) => grains.GetGrain<ICredentialLeaseGrain>(key);

    public static IMcpServerGrain Server(this IGrainFactory grains, string name) => grains.GetGrain<IMcpServerGrain>(name);

    public static IToolLockGrain ToolLock(this IGrainFactory grains, string server) => grains.GetGrain<IToolLockGrain>(server);

    public static IBudgetGrain Budget(this IGrainFactory grains, string key) => grains.GetGrain<IBudgetGrain>(key);

    public static IApprovalsGrain Approvals(this IGrainFactory grains) => grains.GetGrain<IApprovalsGrain>(Default);

    public static IEgressTargetGrain EgressTarget(this IGrainFactory grains, string name) => grains.GetGrain<IEgressTargetGrain>(name);

    /// <summary>The names of all egress targets (the server directory's "egress" instance).</summary>
    public static IServerDirectoryGrain EgressDirectory(this IGrainFactory grains) => grains.GetGrain<IServerDirectoryGrain>("egress");

    /// <summary>
    /// The upstream definition behind a server key: an MCP server's, or an egress target's as <see cref="EgressTargetDefinition.AsUpstream"/>
    /// for an <c>egress:</c> key (edges and leases handle both alike).
    /// </summary>
    public static async ValueTask<McpServerDefinition?> UpstreamAsync(this IGrainFactory grains, string key) =>
        EgressTargetDefinition.TryParseKey(key, out var target)
            ? (await grains.EgressTarget(target).GetAsync())?.AsUpstream()
            : await grains.Server(key).GetAsync();

    public static IWorkloadGrain Workload(this IGrainFactory grains, string spiffeId) => grains.GetGrain<IWorkloadGrain>(spiffeId);

    public static ITrustDomainGrain Federation(this IGrainFactory grains, string trustDomain) => grains.GetGrain<ITrustDomainGrain>(trustDomain);

    public static IFederationDirectoryGrain FederationDirectory(this IGrainFactory grains) => grains.GetGrain<IFederationDirectoryGrain>(Default);

    public static IEdgeRegistryGrain Edges(this IGrainFactory grains) => grains.GetGrain<IEdgeRegistryGrain>(Default);

    public static ICertificateAuthorityGrain Authority(this IGrainFactory grains, string trustDomain) => grains.GetGrain<ICertificateAuthorityGrain>(trustDomain);
}
