"""Search: budgets, candidate plans, trial records, the frontier and selection."""

from .budget import SearchBudget, parse_budget
from .frontier import OBJECTIVES, check_objective, pareto_front, select_trial
from .plan import Candidate, plan_candidates
from .trial import TrialResult

__all__ = ["SearchBudget", "parse_budget", "OBJECTIVES", "check_objective", "pareto_front", "select_trial",
           "Candidate", "plan_candidates", "TrialResult"]
