import { z } from 'zod';
import type { LoadedConfig } from '../runtime/config.js';
import { distance } from 'fastest-levenshtein';
import { TwlError } from '../runtime/errors.js';
import { redactText } from '../runtime/redact.js';
import type { AnyOp } from '../ops/op.js';

const closest = (name: string, candidates: string[]): string | undefined => {
  const best = candidates.map((c) => ({ c, d: distance(name, c) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(2, Math.floor(name.length / 4)) ? best.c : undefined;
};

/**
 * What the configuration schema alone cannot see: each runbook step names a tool twl has, and
 * its input is what that tool accepts (checked against the tool's own schema, unknown keys
 * included). Throws TWL_CONFIG_INVALID naming the file, each key path and what is expected.
 */
export function checkRunbooks(loaded: LoadedConfig, ops: Map<string, AnyOp>): void {
  const problems: string[] = [];
  const names = [...ops.keys()].sort();
  loaded.config.runbooks.forEach((runbook, r) => {
    runbook.steps.forEach((step, s) => {
      const at = `runbooks.${r}.steps.${s}`;
      const op = ops.get(step.tool);
      // An upstream's tool is known once its server answers (`twl upstream test NAME` lists them).
      if (!op && loaded.config.upstreams.some((u) => step.tool.startsWith(`${u.name}_`))) return;
      if (!op) {
        const hint = closest(step.tool, names);
        problems.push(`  - ${at}.tool: unknown tool "${step.tool}"${hint ? `; did you mean ${hint}?` : ''} (twl tools: ${names.join(', ')})`);
        return;
      }
      const shape = op.input instanceof z.ZodObject ? Object.keys(op.input.shape as Record<string, unknown>) : undefined;
      for (const key of Object.keys(step.input)) {
        if (shape && !shape.includes(key)) {
          const hint = closest(key, shape);
          problems.push(`  - ${at}.input.${key}: ${step.tool} takes no "${key}"${hint ? `; did you mean ${hint}?` : ''} (it takes: ${shape.join(', ') || 'nothing'})`);
        }
      }
      const parsed = op.input.safeParse(step.input);
      if (!parsed.success) for (const issue of parsed.error.issues) problems.push(`  - ${at}.input${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`);
    });
  });
  if (problems.length) {
    problems.splice(0, problems.length, ...problems.map(redactText));
    throw new TwlError('TWL_CONFIG_INVALID', `Invalid configuration in ${loaded.file ?? 'the environment'}:\n${problems.join('\n')}`, {
      details: { file: loaded.file, issues: problems.map((p) => p.replace(/^ {2}- /, '')) },
    });
  }
}
