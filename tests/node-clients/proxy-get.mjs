// GET argv[2] the way a Node MCP server would with undici: the proxy from HTTPS_PROXY (credential in its URL),
// trust from NODE_EXTRA_CA_CERTS. Prints "<status> <body>"; exits 3 on a proxy refusal.
import { EnvHttpProxyAgent, fetch } from 'undici';

try {
  const response = await fetch(process.argv[2], { dispatcher: new EnvHttpProxyAgent() });
  console.log(response.status, await response.text());
} catch (error) {
  console.log('failed', error?.cause?.message ?? error.message);
  process.exit(3);
}
