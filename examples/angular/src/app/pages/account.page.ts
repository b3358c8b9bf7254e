import { DatePipe } from "@angular/common";
import { ChangeDetectionStrategy, Component, inject, type OnInit, signal } from "@angular/core";
import { Router } from "@angular/router";
import { isLatchkeyError, type User } from "@latchkey/client";
import { LATCHKEY } from "../auth/latchkey";
import { Session } from "../auth/session";
import { EXAMPLE_CONFIG } from "../config";
import { describeProblem } from "../shared/problem";

/**
 * A restricted page that calls a protected endpoint: the guard let the visitor in, and
 * latchkey checks again, since only the server's answer counts.
 */
@Component({
  selector: "app-account-page",
  imports: [DatePipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h1>Your account</h1>
    @if (problem(); as message) {
      <p class="alert" role="alert">{{ message }}</p>
    }
    @if (me(); as user) {
      <section class="card" aria-label="GET /api/me">
        <p class="note">latchkey's answer to GET /api/me, sent with the session cookie:</p>
        <dl>
          <dt>Username</dt>
          <dd>{{ user.username }}</dd>
          <dt>Account id</dt>
          <dd>{{ user.id }}</dd>
          <dt>Email</dt>
          <dd>{{ user.email ?? "none" }}</dd>
          <dt>Roles</dt>
          <dd>{{ user.roles.join(", ") }}</dd>
          <dt>Member since</dt>
          <dd>{{ user.created_at | date: "medium" }}</dd>
        </dl>
      </section>
    } @else if (!problem()) {
      <p role="status">Asking latchkey…</p>
    }
  `,
})
export class AccountPage implements OnInit {
  private readonly client = inject(LATCHKEY);
  private readonly session = inject(Session);
  private readonly router = inject(Router);
  private readonly latchkeyUrl = inject(EXAMPLE_CONFIG).latchkeyUrl;

  readonly me = signal<User | null>(null);
  readonly problem = signal<string | null>(null);

  async ngOnInit(): Promise<void> {
    try {
      this.me.set(await this.client.api.GET("/api/me"));
    } catch (error) {
      if (isLatchkeyError(error, "unauthorized")) {
        // The session ended since the page loaded (logged out elsewhere, expired, revoked).
        this.session.ended();
        await this.router.navigate(["/login"], { queryParams: { next: "/account" } });
        return;
      }
      this.problem.set(describeProblem(error, this.latchkeyUrl).message);
    }
  }
}
