/**
 * Proxy settings from the worker's environment, as curl, rclone and the AWS CLI read them: `HTTPS_PROXY`,
 * `HTTP_PROXY`, `NO_PROXY`, lower-case names first. Empty strings mean "none" (never a fallback to process.env).
 */
export interface ProxySettings {
  httpProxy: string;
  httpsProxy: string;
  noProxy: string;
}

export function proxySettings(env: NodeJS.ProcessEnv): ProxySettings {
  return {
    httpProxy: env.http_proxy ?? env.HTTP_PROXY ?? '',
    httpsProxy: env.https_proxy ?? env.HTTPS_PROXY ?? '',
    noProxy: env.no_proxy ?? env.NO_PROXY ?? '',
  };
}
