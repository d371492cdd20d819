import { html, type SafeHtml } from '../html.js';

export interface FieldOptions {
  id: string;
  label: string;
  type?: 'text' | 'tel' | 'password' | 'email';
  value?: string;
  error?: string | undefined;
  hint?: string;
  required?: boolean;
  autocomplete?: string;
  inputmode?: 'numeric' | 'tel' | 'text';
  maxlength?: number;
}

/** A labelled input with its hint and error next to it, tied together for screen readers. */
export function textField(o: FieldOptions): SafeHtml {
  const hintId = o.hint ? `${o.id}-hint` : '';
  const errorId = o.error ? `${o.id}-error` : '';
  const describedBy = [hintId, errorId].filter(Boolean).join(' ');
  return html`<div class="field${o.error ? ' field--error' : ''}">
<label for="${o.id}">${o.label}</label>
${o.hint ? html`<p class="field-hint" id="${hintId}">${o.hint}</p>` : ''}
${o.error ? html`<p class="field-error" id="${errorId}"><span class="visually-hidden">Error: </span>${o.error}</p>` : ''}
<input id="${o.id}" name="${o.id}" type="${o.type ?? 'text'}" value="${o.type === 'password' ? '' : (o.value ?? '')}"${o.autocomplete ? html` autocomplete="${o.autocomplete}"` : ''}${o.inputmode ? html` inputmode="${o.inputmode}"` : ''} maxlength="${o.maxlength ?? 64}"${o.required ? html` required` : ''}${describedBy ? html` aria-describedby="${describedBy}"` : ''}${o.error ? html` aria-invalid="true"` : ''}>
</div>`;
}
