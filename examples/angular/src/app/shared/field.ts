import { ChangeDetectionStrategy, Component, input } from "@angular/core";

/**
 * A label, the projected input and latchkey's message for that field. The input itself
 * points at the message with `aria-describedby="<fieldId>-error"` so screen readers read it.
 */
@Component({
  selector: "app-field",
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <label [for]="fieldId()">{{ label() }}</label>
    <ng-content />
    @if (error(); as message) {
      <p class="field-error" [id]="fieldId() + '-error'">{{ message }}</p>
    }
  `,
  host: { class: "field" },
})
export class Field {
  readonly label = input.required<string>();
  readonly fieldId = input.required<string>();
  readonly error = input<string | undefined>();
}
