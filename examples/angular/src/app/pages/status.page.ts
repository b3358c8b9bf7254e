import { DatePipe } from "@angular/common";
import { ChangeDetectionStrategy, Component, inject, signal } from "@angular/core";
import { RouterLink } from "@angular/router";
import { Session } from "../auth/session";

/** The seed's /api/status, done with latchkey: who is logged in, from GET /api/check_session. */
@Component({
  selector: "app-status-page",
  imports: [RouterLink, DatePipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h1>Status</h1>
    <section class="card" aria-label="Session">
      @switch (session.status()) {
        @case ("loading") {
          <p role="status">Checking your session…</p>
        }
        @case ("authenticated") {
          @if (session.user(); as user) {
            <p role="status">Logged in as <strong>{{ user.username }}</strong></p>
            <dl>
              <dt>Account id</dt>
              <dd>{{ user.id }}</dd>
              <dt>Email</dt>
              <dd>{{ user.email ?? "none" }}</dd>
              <dt>Roles</dt>
              <dd>{{ user.roles.join(", ") }}</dd>
              <dt>Member since</dt>
              <dd>{{ user.created_at | date: "medium" }}</dd>
            </dl>
          }
        }
        @case ("anonymous") {
          <p role="status">Not logged in</p>
          <p><a routerLink="/login">Log in</a> or <a routerLink="/register">register</a> to reach the restricted pages.</p>
        }
      }
      <div class="row">
        <button type="button" class="secondary" (click)="checkAgain()" [disabled]="checking()">Check again</button>
        @if (checkedAt(); as at) {
          <span class="note">latchkey answered at {{ at | date: "mediumTime" }}</span>
        }
      </div>
    </section>

    <h2>Pages</h2>
    <ul class="pages">
      <li><a routerLink="/members">Members</a> <span class="tag">restricted</span></li>
      <li><a routerLink="/account">Account</a> <span class="tag">restricted</span> reads GET /api/me</li>
      <li><a routerLink="/">Status</a> <span class="tag open">open</span> this page</li>
    </ul>
  `,
})
export class StatusPage {
  readonly session = inject(Session);
  readonly checking = signal(false);
  readonly checkedAt = signal<Date | null>(null);

  async checkAgain(): Promise<void> {
    this.checking.set(true);
    try {
      await this.session.check();
      this.checkedAt.set(new Date());
    } finally {
      this.checking.set(false);
    }
  }
}
