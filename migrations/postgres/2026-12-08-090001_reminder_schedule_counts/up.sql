-- The weekly summary counts, per organisation, the distinct cases with a running window and
-- those past a due date; recomputing an organisation's schedule lists its cases in order. One
-- index on (organisation, case, due) answers all three from the index alone, in case order, so
-- neither reads the table nor sorts: it replaces the (organisation, due) index, which served
-- only a filter and left the distinct count to a sort of every open case.
DROP INDEX reminder_schedule_organisation;
CREATE INDEX reminder_schedule_counts
    ON reminder_schedule (organisation_id, case_id, due_on);
