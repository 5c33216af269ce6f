// client-node 2.0 builds a new undici Agent for every request, so every call of the tests pays a TCP and
// TLS handshake; the benchmark's population (hundreds of thousands of creates) is bound by that. This
// KubeConfig hands every request the first Agent built, so connections are kept alive and reused.
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

export class PooledKubeConfig extends KubeConfig {
  private pooled: Dispatcher | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (!fresh || fresh === this.pooled) return;
    if (!this.pooled) {
      this.pooled = fresh;
      return;
    }
    context.setDispatcher(this.pooled);
    void fresh.close();
  }
}
