// client-node 2.0 builds a new undici Agent for every request, so every API call pays a fresh TCP and
// TLS handshake (about 50 ms each on a loaded 2-core machine, measured by the benchmark). This KubeConfig
// hands every request the same Agent, so connections are kept alive and reused. Credentials that change
// (tokens) travel in headers and are still applied per request; the TLS material is fixed per process.
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

export class PooledKubeConfig extends KubeConfig {
  private pooled: Dispatcher | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (!fresh) return;
    if (!this.pooled) {
      this.pooled = fresh;
      return;
    }
    if (fresh !== this.pooled) {
      context.setDispatcher(this.pooled);
      void fresh.close();
    }
  }
}
