/**
 * A catalog like the seeds': several services, two sharing the type `compute`, regional and global
 * endpoints, ServiceNet internalURLs on Cloud Files only, an empty region on cloudMonitoring and a
 * trailing space on one URL (both occur in real answers).
 */
export function demoCatalog(tenant: string): unknown[] {
  const files = `MossoCloudFS_${tenant}`;
  const regional = (regions: string[], url: (r: string) => string, extra: (r: string) => object = () => ({})) =>
    regions.map((region) => ({ publicURL: url(region.toLowerCase()), region, tenantId: tenant, ...extra(region.toLowerCase()) }));
  return [
    {
      name: 'cloudServersOpenStack',
      type: 'compute',
      endpoints: regional(['DFW', 'ORD', 'IAD'], (r) => `https://${r}.servers.api.rackspacecloud.com/v2/${tenant}`, (r) => ({
        versionId: '2',
        versionInfo: `https://${r}.servers.api.rackspacecloud.com/v2`,
        versionList: `https://${r}.servers.api.rackspacecloud.com/`,
      })),
    },
    { name: 'cloudServers', type: 'compute', endpoints: [{ publicURL: `https://servers.api.rackspacecloud.com/v1.0/${tenant}`, tenantId: tenant, versionId: '1.0' }] },
    {
      name: 'cloudFiles',
      type: 'object-store',
      endpoints: ['DFW', 'ORD', 'IAD'].map((region) => {
        const r = region.toLowerCase();
        return {
          publicURL: `https://storage101.${r}1.clouddrive.com/v1/${files}`,
          internalURL: `https://snet-storage101.${r}1.clouddrive.com/v1/${files}${region === 'DFW' ? ' ' : ''}`,
          region,
          tenantId: files,
        };
      }),
    },
    { name: 'cloudFilesCDN', type: 'rax:object-cdn', endpoints: ['DFW', 'ORD'].map((region, i) => ({ publicURL: `https://cdn${i + 1}.clouddrive.com/v1/${files}`, region, tenantId: files })) },
    { name: 'cloudDNS', type: 'rax:dns', endpoints: [{ publicURL: `https://dns.api.rackspacecloud.com/v1.0/${tenant}`, tenantId: tenant }] },
    { name: 'cloudMonitoring', type: 'rax:monitor', endpoints: [{ publicURL: `https://monitoring.api.rackspacecloud.com/v1.0/${tenant}`, region: '', tenantId: tenant }] },
    { name: 'cloudDatabases', type: 'rax:database', endpoints: regional(['DFW', 'ORD', 'SYD'], (r) => `https://${r}.databases.api.rackspacecloud.com/v1.0/${tenant}`) },
    { name: 'cloudLoadBalancers', type: 'rax:load-balancer', endpoints: regional(['DFW', 'ORD'], (r) => `https://${r}.loadbalancers.api.rackspacecloud.com/v1.0/${tenant}`) },
  ];
}
