/**
 * Label selectors on the client: enough of labels.Parse (`a`, `!a`, `a=b`, `a==b`, `a!=b`,
 * `a in (b,c)`, `a notin (b)`) for `sparkfn serve` to share one watch between functions that
 * select differently, each filtering the shared stream with its own selector.
 */

/** One requirement of a selector. */
export interface LabelRequirement {
  key: string;
  operator: 'exists' | '!' | '=' | '!=' | 'in' | 'notin';
  values: string[];
}

const KEY = String.raw`[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?`;
const VALUE = String.raw`([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const EXISTS = new RegExp(`^(!?)\\s*(${KEY})$`);
const EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^()]*)\\)$`);

/**
 * Parses a selector into its requirements, or undefined when it uses something this parser does
 * not know (the caller then leaves that selector to the apiserver). An empty selector has none.
 */
export function parseLabelSelector(selector: string | undefined): LabelRequirement[] | undefined {
  if (!selector || selector.trim() === '') return [];
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    if (selector[i] === '(') depth++;
    else if (selector[i] === ')') depth--;
    else if (selector[i] === ',' && depth === 0) {
      parts.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(selector.slice(start));
  const requirements: LabelRequirement[] = [];
  for (const raw of parts.map((p) => p.trim())) {
    let m: RegExpExecArray | null;
    if ((m = EXISTS.exec(raw))) requirements.push({ key: m[2]!, operator: m[1] ? '!' : 'exists', values: [] });
    else if ((m = EQUALITY.exec(raw))) requirements.push({ key: m[1]!, operator: m[3] === '!=' ? '!=' : '=', values: [m[4] ?? ''] });
    else if ((m = SET.exec(raw))) {
      const values = m[5]!.split(',').map((v) => v.trim());
      if (values.some((v) => !new RegExp(`^${VALUE}$`).test(v))) return undefined;
      requirements.push({ key: m[1]!, operator: m[4] as 'in' | 'notin', values });
    } else return undefined;
  }
  return requirements;
}

/** Whether labels satisfy every requirement. */
export function matchesLabels(requirements: readonly LabelRequirement[], labels: Readonly<Record<string, string>> | undefined): boolean {
  return requirements.every(({ key, operator, values }) => {
    const value = labels?.[key];
    switch (operator) {
      case 'exists':
        return value !== undefined;
      case '!':
        return value === undefined;
      case '=':
      case 'in':
        return value !== undefined && values.includes(value);
      case '!=':
      case 'notin':
        return value === undefined || !values.includes(value);
    }
  });
}

/** A requirement in canonical text, so equal requirements compare equal. */
export function formatRequirement({ key, operator, values }: LabelRequirement): string {
  switch (operator) {
    case 'exists':
      return key;
    case '!':
      return `!${key}`;
    case '=':
    case '!=':
      return `${key}${operator}${values[0] ?? ''}`;
    case 'in':
    case 'notin':
      return `${key} ${operator} (${[...values].sort().join(',')})`;
  }
}

/**
 * The requirements every one of the selectors implies (`a=b` and `a in (b)` imply `a`), as a
 * selector that selects a superset of what each of them selects; '' when they share none.
 */
export function commonSelector(selectors: readonly (readonly LabelRequirement[])[]): string {
  const implied = selectors.map((requirements) => {
    const texts = new Set<string>();
    for (const r of requirements) {
      texts.add(formatRequirement(r));
      if (r.operator === '=' || r.operator === 'in') texts.add(r.key);
    }
    return texts;
  });
  const [first, ...rest] = implied;
  if (!first) return '';
  return [...first].filter((text) => rest.every((set) => set.has(text))).sort().join(',');
}
