// Small labelled form controls for the Method step: each shows its problem (or a warning) beside
// it, and number fields keep the text as typed ("2e-3", "0.") while the store holds the number.
import { useState, type ReactNode } from 'react';

export function Field({ label, name, error, warning, hint, children }: { label: string; name: string; error?: string; warning?: string; hint?: string; children: ReactNode }) {
  const id = `method-${name}`;
  return (
    <div className={`field${error ? ' invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {error ? (
        <span className="field-msg bad" role="alert" data-testid={`method-error-${name}`} id={`${id}-msg`}>{error}</span>
      ) : warning ? (
        <span className="field-msg warn" data-testid={`method-warning-${name}`} id={`${id}-msg`}>{warning}</span>
      ) : hint ? (
        <span className="field-msg hint" id={`${id}-msg`}>{hint}</span>
      ) : null}
    </div>
  );
}

export function NumberInput({ name, value, onChange, disabled, invalid }: { name: string; value: number; onChange(v: number): void; disabled?: boolean; invalid?: boolean }) {
  const [text, setText] = useState(String(value));
  const [seen, setSeen] = useState(value);
  // A preset or reset changed the value from outside: show it (adjusting state during render, not in an effect).
  if (value !== seen && !(Number.isNaN(value) && Number.isNaN(seen))) {
    setSeen(value);
    if (Number(text) !== value) setText(String(value));
  }
  return (
    <input
      id={`method-${name}`}
      data-testid={`method-${name}`}
      type="text"
      inputMode="decimal"
      size={8}
      value={text}
      disabled={disabled}
      aria-invalid={invalid || undefined}
      aria-describedby={`method-${name}-msg`}
      onChange={(e) => {
        setText(e.target.value);
        const v = e.target.value.trim() === '' ? NaN : Number(e.target.value);
        setSeen(v);
        onChange(v);
      }}
    />
  );
}

export function Select<T extends string>({ name, value, options, onChange, disabled }: { name: string; value: T; options: Array<[T, string]>; onChange(v: T): void; disabled?: boolean }) {
  return (
    <select id={`method-${name}`} data-testid={`method-${name}`} value={value} disabled={disabled} aria-describedby={`method-${name}-msg`} onChange={(e) => onChange(e.target.value as T)}>
      {options.map(([v, l]) => (
        <option key={v} value={v}>{l}</option>
      ))}
    </select>
  );
}
