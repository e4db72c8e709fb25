/**
 * A visit nothing has been reported on: no member entered or left, no cart event. It is what a
 * gate answer lost to a crash leaves behind, so both the expiry of such visits
 * (settlement/expire.ts) and a new code opening onto one (entry/admission.ts) test it, the same way.
 * `visit` is the SQL expression of the visit's id.
 */
export const unreported = (visit: string): string =>
  `not exists (select 1 from visit_members vm
               where vm.visit_id = ${visit} and (vm.entered_at is not null or vm.exited_at is not null))
   and not exists (select 1 from cart_events c where c.visit_id = ${visit})`;
