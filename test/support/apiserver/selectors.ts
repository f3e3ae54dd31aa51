import type { ResourceType } from './resources.js';
import { badRequest } from './status.js';
import type { KubeObject } from './storage.js';
import type { LabelValues } from './storage-index.js';

/** One label requirement, as k8s.io/apimachinery/pkg/labels parses it. */
export interface LabelRequirement {
  key: string;
  operator: 'exists' | '!' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';
  values: string[];
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`;
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return `name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`;
  }
  return undefined;
}

function labelValueProblem(value: string): string | undefined {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    return `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`;
  }
  return undefined;
}

type Token = { kind: 'id'; text: string } | { kind: 'op'; text: string };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: 'op', text: c });
      i++;
    } else if (c === '!' || c === '=' || c === '<' || c === '>') {
      const two = input.slice(i, i + 2);
      const op = two === '!=' || two === '==' ? two : c;
      tokens.push({ kind: 'op', text: op });
      i += op.length;
    } else {
      let j = i;
      while (j < input.length && !' \t(),!=<>'.includes(input[j]!)) j++;
      tokens.push({ kind: 'id', text: input.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

function parseError(message: string): never {
  throw badRequest(`unable to parse requirement: ${message}`);
}

/**
 * Parses a labelSelector (`a=b,c!=d,e in (f,g),h notin (i),j,!k,l>3`) the way labels.Parse
 * does; an unparsable or invalid selector is a 400 BadRequest, as from kube-apiserver.
 */
export function parseLabelSelector(input: string | undefined): LabelRequirement[] {
  if (!input || input.trim() === '') return [];
  const tokens = tokenize(input);
  const requirements: LabelRequirement[] = [];
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  for (;;) {
    let t = next();
    if (!t) parseError('found end of input, expected: identifier');
    let requirement: LabelRequirement;
    if (t.kind === 'op' && t.text === '!') {
      const key = next();
      if (!key || key.kind !== 'id') parseError(`found '${key?.text ?? ''}', expected: identifier`);
      requirement = { key: key.text, operator: '!', values: [] };
    } else {
      if (t.kind !== 'id') parseError(`found '${t.text}', expected: !, identifier, or 'end of string'`);
      const key = t.text;
      const op = peek();
      if (!op || (op.kind === 'op' && op.text === ',')) {
        requirement = { key, operator: 'exists', values: [] };
      } else if (op.kind === 'op' && ['=', '==', '!='].includes(op.text)) {
        next();
        const value = peek();
        let v = '';
        if (value && value.kind === 'id') {
          v = value.text;
          next();
        }
        requirement = { key, operator: op.text === '!=' ? '!=' : '=', values: [v] };
      } else if (op.kind === 'op' && (op.text === '>' || op.text === '<')) {
        next();
        const value = next();
        if (!value || value.kind !== 'id' || !/^-?\d+$/.test(value.text)) {
          parseError(`for 'Gt', 'Lt' operators, exactly one value is required`);
        }
        requirement = { key, operator: op.text === '>' ? 'gt' : 'lt', values: [value.text] };
      } else if (op.kind === 'id' && (op.text === 'in' || op.text === 'notin')) {
        next();
        const open = next();
        if (!open || open.text !== '(') parseError(`found '${open?.text ?? ''}', expected: '('`);
        const values: string[] = [];
        let expectValue = true;
        for (;;) {
          t = next();
          if (!t) parseError(`found end of input, expected: ')'`);
          if (t.kind === 'op' && t.text === ')') {
            if (expectValue && values.length > 0) values.push('');
            break;
          }
          if (t.kind === 'op' && t.text === ',') {
            if (expectValue) values.push('');
            expectValue = true;
            continue;
          }
          if (t.kind !== 'id' || !expectValue) parseError(`found '${t.text}', expected: ',', ')' or identifier`);
          values.push(t.text);
          expectValue = false;
        }
        if (values.length === 0) parseError(`for 'in', 'notin' operators, values set can't be empty`);
        requirement = { key, operator: op.text, values };
      } else {
        parseError(`found '${op.text}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    }
    const keyProblem = labelKeyProblem(requirement.key);
    if (keyProblem) parseError(`key: Invalid value: "${requirement.key}": ${keyProblem}`);
    requirement.values.forEach((v, idx) => {
      if (requirement.operator === 'gt' || requirement.operator === 'lt') return;
      const problem = labelValueProblem(v);
      if (problem) parseError(`values[${idx}][${requirement.key}]: Invalid value: "${v}": ${problem}`);
    });
    requirements.push(requirement);
    const sep = next();
    if (!sep) return requirements;
    if (sep.kind !== 'op' || sep.text !== ',') parseError(`found '${sep.text}', expected: ',' or 'end of string'`);
  }
}

/** labels.Selector.Matches: `!=` and `notin` also match objects without the label. */
export function matchesLabels(requirements: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const value = l[r.key];
    switch (r.operator) {
      case 'exists':
        return has;
      case '!':
        return !has;
      case '=':
      case 'in':
        return has && r.values.includes(value!);
      case '!=':
      case 'notin':
        return !has || !r.values.includes(value!);
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(value!)) return false;
        const n = Number(value);
        const limit = Number(r.values[0]);
        return r.operator === 'gt' ? n > limit : n < limit;
      }
    }
  });
}

/** The requirements only objects carrying one of a few values meet (`=`, `==`, `in`), for storage's label index. */
export function labelValues(requirements: LabelRequirement[]): LabelValues[] {
  return requirements.filter((r) => r.operator === '=' || r.operator === 'in').map(({ key, values }) => ({ key, values }));
}

/** One field requirement (fields.ParseSelector): `status.phase=Running`, `metadata.name!=x`. */
export interface FieldRequirement {
  field: string;
  operator: '=' | '!=';
  value: string;
}

function splitUnescaped(input: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === '\\' && i + 1 < input.length) {
      current += c + input[i + 1];
      i++;
    } else if (c === separator) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

function unescapeFieldValue(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

/**
 * Parses a fieldSelector and checks every label against what the resource supports; kube-apiserver
 * answers 400 to any other label (CRDs word it differently from built-in types).
 */
export function parseFieldSelector(input: string | undefined, type: ResourceType): FieldRequirement[] {
  if (!input || input.trim() === '') return [];
  const requirements: FieldRequirement[] = [];
  for (const term of splitUnescaped(input, ',')) {
    if (term === '') continue;
    const m = /^(.*?)(!=|==|=)(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${input}'; can't understand '${term}'`);
    const field = m[1]!.trim();
    const supported = field === 'metadata.name' || field === 'metadata.namespace' || field in type.fieldLabels;
    if (!supported) {
      throw badRequest(
        type.custom
          ? `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`
          : `field label not supported: ${field}`,
      );
    }
    requirements.push({ field, operator: m[2] === '!=' ? '!=' : '=', value: unescapeFieldValue(m[3]!) });
  }
  return requirements;
}

function fieldValue(object: KubeObject, path: string): string {
  let current: unknown = object;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return '';
    current = (current as Record<string, unknown>)[part];
  }
  if (current === undefined || current === null) return '';
  return typeof current === 'string' ? current : String(current);
}

/** Field requirements against the object; a missing field reads as the empty string. */
export function matchesFields(requirements: FieldRequirement[], object: KubeObject, type: ResourceType): boolean {
  return requirements.every((r) => {
    const path = r.field === 'metadata.name' || r.field === 'metadata.namespace' ? r.field : type.fieldLabels[r.field]!;
    const actual = fieldValue(object, path);
    return r.operator === '=' ? actual === r.value : actual !== r.value;
  });
}

/** Both selectors of a list or watch request. */
export interface Selector {
  labels: LabelRequirement[];
  fields: FieldRequirement[];
}

/** Parses `labelSelector` and `fieldSelector` of a request; 400 on either being bad. */
export function parseSelector(query: URLSearchParams, type: ResourceType): Selector {
  return {
    labels: parseLabelSelector(query.get('labelSelector') ?? undefined),
    fields: parseFieldSelector(query.get('fieldSelector') ?? undefined, type),
  };
}

/** No requirement at all (the list may report remainingItemCount). */
export function isEmptySelector(selector: Selector): boolean {
  return selector.labels.length === 0 && selector.fields.length === 0;
}

/** Whether the object passes both selectors. */
export function matches(selector: Selector, object: KubeObject, type: ResourceType): boolean {
  return matchesLabels(selector.labels, object.metadata.labels) && matchesFields(selector.fields, object, type);
}
