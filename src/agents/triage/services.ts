import type { Config } from '../../runtime/config.js';
import { categoriesOfKind } from '../maestro/plan.js';
import type { NamedService } from './engine.js';

/** The configured services as triage sees them: the words naming each (name, keywords, host) and its categories. */
export function namedServices(config: Pick<Config, 'services'>): NamedService[] {
  return config.services.map((s) => {
    const words = [s.name, ...(s.keywords ?? [])];
    try {
      words.push(new URL(s.target).hostname);
    } catch {
      // not a URL: the name and keywords are enough
    }
    return { name: s.name, words, categories: s.categories ?? categoriesOfKind[s.kind] };
  });
}
