-- The day-one rule keeps its history like the calendar does: a change applies to concerns
-- received (or moved to stage 2) from the day after it was recorded, so changing the rule never
-- re-dates a past case or a reported figure. Before the first change, `previous_rule` was in
-- force; organisations.day_one_rule stays the rule for new concerns.
CREATE TABLE day_one_rule_changes (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    from_day DATE NOT NULL,
    rule TEXT NOT NULL CHECK (rule IN ('receipt_or_next_working_day', 'next_working_day')),
    previous_rule TEXT NOT NULL CHECK (previous_rule IN ('receipt_or_next_working_day', 'next_working_day')),
    recorded_on DATE NOT NULL,
    UNIQUE (organisation_id, from_day)
);
