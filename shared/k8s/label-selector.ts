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

const KEY = String.raw`[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?`;
const VALUE = String.raw`(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const EXISTS = new RegExp(`^(?<not>!?)\\s*(?<key>${KEY})$`);
const EQUALITY = new RegExp(`^(?<key>${KEY})\\s*(?<op>==|=|!=)\\s*(?<value>${VALUE})$`);
const SET = new RegExp(`^(?<key>${KEY})\\s+(?<op>in|notin)\\s*\\((?<values>[^()]*)\\)$`);

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
    let g: Record<string, string> | undefined;
    if ((g = EXISTS.exec(raw)?.groups)) requirements.push({ key: g.key!, operator: g.not ? '!' : 'exists', values: [] });
    else if ((g = EQUALITY.exec(raw)?.groups)) requirements.push({ key: g.key!, operator: g.op === '!=' ? '!=' : '=', values: [g.value ?? ''] });
    else if ((g = SET.exec(raw)?.groups)) {
      const values = g.values!.split(',').map((v) => v.trim());
      if (values.some((v) => !new RegExp(`^${VALUE}$`).test(v))) return undefined;
      requirements.push({ key: g.key!, operator: g.op as 'in' | 'notin', values });
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
  const common = [...first].filter((text) => rest.every((set) => set.has(text)));
  // A bare key that a common `key=value` or `key in (…)` already implies adds nothing.
  return common
    .filter((text) => !common.some((other) => other.startsWith(`${text}=`) || other.startsWith(`${text} in `)))
    .sort()
    .join(',');
}
