import { ChangeDetectionStrategy, Component, inject, input, signal } from "@angular/core";
import { FormBuilder, ReactiveFormsModule } from "@angular/forms";
import { Router, RouterLink } from "@angular/router";
import { safeNext } from "../auth/guards";
import { Session } from "../auth/session";
import { EXAMPLE_CONFIG } from "../config";
import { Field } from "../shared/field";
import { describeProblem, NO_PROBLEM, type Problem } from "../shared/problem";

/** The names latchkey gives these fields in a 422's `fields`. */
type FieldName = "username" | "email" | "password" | "password_confirmation";

@Component({
  selector: "app-register-page",
  imports: [ReactiveFormsModule, RouterLink, Field],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h1>Register</h1>
    @if (problem().message; as message) {
      <p class="alert" role="alert">{{ message }}</p>
    }
    <form [formGroup]="form" (ngSubmit)="submit()" class="card">
      <app-field label="Username" fieldId="register-username" [error]="fieldError('username')">
        <input id="register-username" formControlName="username" autocomplete="username"
               [attr.aria-invalid]="!!fieldError('username')" aria-describedby="register-username-error" />
      </app-field>
      <app-field label="Email (optional)" fieldId="register-email" [error]="fieldError('email')">
        <input id="register-email" type="email" formControlName="email" autocomplete="email"
               [attr.aria-invalid]="!!fieldError('email')" aria-describedby="register-email-error" />
      </app-field>
      <app-field label="Password" fieldId="register-password" [error]="fieldError('password')">
        <input id="register-password" type="password" formControlName="password" autocomplete="new-password"
               [attr.aria-invalid]="!!fieldError('password')" aria-describedby="register-password-error" />
      </app-field>
      <app-field label="Confirm password" fieldId="register-confirmation" [error]="fieldError('password_confirmation')">
        <input id="register-confirmation" type="password" formControlName="passwordConfirmation" autocomplete="new-password"
               [attr.aria-invalid]="!!fieldError('password_confirmation')" aria-describedby="register-confirmation-error" />
      </app-field>
      <button type="submit" [disabled]="busy()">{{ busy() ? "Creating account…" : "Create account" }}</button>
    </form>
    <p>Have an account? <a routerLink="/login" [queryParams]="{ next: next() }">Log in</a></p>
  `,
})
export class RegisterPage {
  readonly next = input<string>();

  private readonly session = inject(Session);
  private readonly router = inject(Router);
  private readonly latchkeyUrl = inject(EXAMPLE_CONFIG).latchkeyUrl;

  readonly form = inject(FormBuilder).nonNullable.group({
    username: [""],
    email: [""],
    password: [""],
    passwordConfirmation: [""],
  });
  readonly busy = signal(false);
  readonly problem = signal<Problem>(NO_PROBLEM);

  fieldError(name: FieldName): string | undefined {
    return this.problem().fields[name];
  }

  // latchkey checks every rule (username characters, password length, matching
  // confirmation) and names the field; the page shows its words instead of repeating them.
  async submit(): Promise<void> {
    this.busy.set(true);
    this.problem.set(NO_PROBLEM);
    try {
      await this.session.register(this.form.getRawValue());
      await this.router.navigateByUrl(safeNext(this.next()));
    } catch (error) {
      this.problem.set(describeProblem(error, this.latchkeyUrl));
    } finally {
      this.busy.set(false);
    }
  }
}
