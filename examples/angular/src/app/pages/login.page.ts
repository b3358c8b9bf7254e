import { ChangeDetectionStrategy, Component, inject, input, signal } from "@angular/core";
import { FormBuilder, ReactiveFormsModule } from "@angular/forms";
import { Router, RouterLink } from "@angular/router";
import { safeNext } from "../auth/guards";
import { Session } from "../auth/session";
import { EXAMPLE_CONFIG } from "../config";
import { Field } from "../shared/field";
import { describeProblem, NO_PROBLEM, type Problem } from "../shared/problem";

@Component({
  selector: "app-login-page",
  imports: [ReactiveFormsModule, RouterLink, Field],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h1>Log in</h1>
    @if (next()) {
      <p class="note">Log in to see that page.</p>
    }
    @if (problem().message; as message) {
      <p class="alert" role="alert">{{ message }}</p>
    }
    @if (secondStep()) {
      <p class="alert" role="alert">
        This account asks for a second step (a code or a passkey), which this example leaves to latchkey:
        <a [href]="latchkeyUrl + '/login'">log in on latchkey's page</a>, then come back here. Both pages
        share latchkey's session.
      </p>
    }
    <form [formGroup]="form" (ngSubmit)="submit()" class="card">
      <app-field label="Username or email" fieldId="login-username" [error]="fieldError('username')">
        <input id="login-username" formControlName="username" autocomplete="username"
               [attr.aria-invalid]="!!fieldError('username')" aria-describedby="login-username-error" />
      </app-field>
      <app-field label="Password" fieldId="login-password" [error]="fieldError('password')">
        <input id="login-password" type="password" formControlName="password" autocomplete="current-password"
               [attr.aria-invalid]="!!fieldError('password')" aria-describedby="login-password-error" />
      </app-field>
      <button type="submit" [disabled]="busy()">{{ busy() ? "Logging in…" : "Log in" }}</button>
    </form>
    <p>No account yet? <a routerLink="/register" [queryParams]="{ next: next() }">Register</a></p>
  `,
})
export class LoginPage {
  /** ?next=: the restricted page that sent the visitor here. */
  readonly next = input<string>();

  private readonly session = inject(Session);
  private readonly router = inject(Router);
  readonly latchkeyUrl = inject(EXAMPLE_CONFIG).latchkeyUrl;

  readonly form = inject(FormBuilder).nonNullable.group({
    username: [""],
    password: [""],
  });
  readonly busy = signal(false);
  readonly problem = signal<Problem>(NO_PROBLEM);
  readonly secondStep = signal(false);

  fieldError(name: "username" | "password"): string | undefined {
    return this.problem().fields[name];
  }

  async submit(): Promise<void> {
    const { username, password } = this.form.getRawValue();
    this.secondStep.set(false);
    if (!username.trim() || !password) {
      this.problem.set({
        message: null,
        fields: {
          ...(username.trim() ? {} : { username: "Enter your username or email address." }),
          ...(password ? {} : { password: "Enter your password." }),
        },
      });
      return;
    }
    this.busy.set(true);
    this.problem.set(NO_PROBLEM);
    try {
      const user = await this.session.login(username.trim(), password);
      if (!user) {
        this.secondStep.set(true);
        return;
      }
      await this.router.navigateByUrl(safeNext(this.next()));
    } catch (error) {
      this.problem.set(describeProblem(error, this.latchkeyUrl));
      this.form.controls.password.reset();
    } finally {
      this.busy.set(false);
    }
  }
}
