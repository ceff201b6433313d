import { detect, globMatch, type Detection } from '../../engine/content-type.js';
import type { RouteRule } from './config.js';
import { builtinCategory } from './mime-tables.js';

export { detect, detectBytes, detectIn, extensionOf, looksLikeText, type Detection } from '../../engine/content-type.js';

export interface RuleCheck {
  index: number;
  category: string;
  matched: boolean;
  /** One line per condition: what was asked, what the file has. */
  reasons: string[];
}

export interface Classification {
  category: string;
  detection: Detection;
  /** The rule that matched (0-based), or null when the built-in table decided. */
  rule: number | null;
  checks: RuleCheck[];
}


function checkRule(rule: RouteRule, index: number, d: Detection, name: string, size: number): RuleCheck {
  const reasons: string[] = [];
  let matched = true;
  if (rule.mime.length > 0) {
    const hit = rule.mime.find((g) => globMatch(g, d.mime));
    matched &&= hit !== undefined;
    reasons.push(hit ? `type ${d.mime} matches ${hit}` : `type ${d.mime} matches none of ${rule.mime.join(', ')}`);
  }
  if (rule.extensions.length > 0) {
    const lower = name.toLowerCase();
    const hit = rule.extensions.find((e) => lower.endsWith(`.${e}`));
    matched &&= hit !== undefined;
    reasons.push(hit ? `extension .${hit} is listed` : `extension ${d.extension ? `.${d.extension}` : '(none)'} is not one of ${rule.extensions.map((e) => `.${e}`).join(', ')}`);
  }
  if (rule.minSize !== undefined) {
    matched &&= size >= rule.minSize;
    reasons.push(`size ${size} ${size >= rule.minSize ? '≥' : '<'} min_size ${rule.minSize}`);
  }
  if (rule.maxSize !== undefined) {
    matched &&= size <= rule.maxSize;
    reasons.push(`size ${size} ${size <= rule.maxSize ? '≤' : '>'} max_size ${rule.maxSize}`);
  }
  return { index, category: rule.category, matched, reasons };
}

/** The first rule that matches wins; without one, the built-in table of MIME types decides. */
export function categorize(d: Detection, name: string, size: number, rules: readonly RouteRule[]): Classification {
  const checks: RuleCheck[] = [];
  for (const [i, rule] of rules.entries()) {
    const c = checkRule(rule, i, d, name, size);
    checks.push(c);
    if (c.matched) return { category: rule.category, detection: d, rule: i, checks };
  }
  return { category: builtinCategory(d.mime), detection: d, rule: null, checks };
}

export async function classify(path: string, size: number, rules: readonly RouteRule[]): Promise<Classification> {
  return categorize(await detect(path), path, size, rules);
}
