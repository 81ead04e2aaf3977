/** The ticket taxonomy: the classifier, the LLM and the store accept these labels only. */
export const categories = ['application', 'server', 'network', 'database', 'security', 'access', 'hardware', 'email', 'storage', 'other'] as const;
export const priorities = ['urgent', 'high', 'medium', 'low'] as const;
export const sentiments = ['positive', 'neutral', 'negative'] as const;
export const urgencies = ['high', 'medium', 'low'] as const;

export type Category = (typeof categories)[number];
export type Priority = (typeof priorities)[number];
export type Sentiment = (typeof sentiments)[number];
export type Urgency = (typeof urgencies)[number];

export const categoryMeaning: Record<Category, string> = {
  application: 'a business app, website or API misbehaving, when the cause is not evidently another category',
  server: 'host/VM/container/service process down or unhealthy, CPU/RAM exhaustion, nginx/systemd unit down',
  network: 'connectivity, DNS, VPN, Wi-Fi, firewall, latency, proxy, load balancer reachability',
  database: 'Postgres/MySQL/Oracle/Redis errors, slow queries, locks, replication, pool exhausted',
  security: 'intrusion, phishing, malware, leaked credentials, CVEs, suspicious logins, certificate expiry/TLS',
  access: 'accounts, password resets, permissions, MFA, SSO failure for a user or group',
  hardware: 'laptops, printers, screens, phones, failing physical disks, docks',
  email: 'mailboxes, sending/receiving, bounces, spam filter, calendar',
  storage: 'disk full, quotas, shares/NAS, failing backups, restores',
  other: 'anything else',
};

export const priorityMeaning: Record<Priority, string> = {
  urgent: 'production outage or security incident hitting many users now',
  high: 'major degradation, a blocked team or VIP, a deadline within hours',
  medium: 'one user blocked with a workaround, or a degradation',
  low: 'requests, questions, cosmetic, planned work',
};

export interface LabelledTicket {
  text: string;
  lang: 'fr' | 'en';
  category: Category;
  priority: Priority;
  sentiment: Sentiment;
  urgency: Urgency;
  /** `generated`: built from templates by scripts/triage-corpus.mjs; absent: written by hand. */
  source?: 'generated';
}
