/** The twl-replicas.conf for these replicas (see replicas.mjs). */
export function replicasConf(replicas: Array<{ name: string; address: string }>): string;
